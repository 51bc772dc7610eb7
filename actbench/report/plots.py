"""The report's PNG plots: learning curves, accuracy against training time, and the activation functions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from actbench.activations import CATALOGUE, canonical_name, is_custom, reference_curve, resolve_params
from actbench.report import ExperimentReport
from actbench.report import diagnostic_plots, output_plots
from actbench.report.figure import pyplot as _pyplot
from actbench.report.figure import save
from actbench.results import run_dir


def write_plots(report: ExperimentReport, folder: Path) -> list[Path]:
    """Draw every plot that the finished runs allow; returns the files written."""
    finished = report.runs[report.runs["status"] == "finished"] if not report.runs.empty else report.runs
    if finished.empty:
        return []
    written = [
        learning_curves(report, finished, folder / "learning_curves.png"),
        accuracy_vs_time(report, folder / "accuracy_vs_time.png"),
        activation_functions(sorted(set(finished["hidden_activation"])), folder / "activations.png"),
        output_plots.confusion_matrices(report, finished, folder / "confusion_matrices.png"),
        output_plots.reliability(report, finished, folder / "reliability.png"),
    ]
    diagnostics = diagnostic_plots.read_diagnostics(report, finished)
    if not diagnostics.empty:
        written += [
            diagnostic_plots.dead_units(report, diagnostics, folder / "dead_units.png"),
            diagnostic_plots.gradient_norms(report, diagnostics, folder / "gradient_norms.png"),
            diagnostic_plots.activation_histograms(report, finished, folder / "activation_histograms.png"),
        ]
    return [path for path in written if path is not None]


def _histories(report: ExperimentReport, runs: pd.DataFrame) -> pd.DataFrame:
    frames = []
    for run in runs.itertuples():
        path = run_dir(report.exp_dir, run.run_id) / "history.csv"
        try:
            frames.append(pd.read_csv(path).assign(run_id=run.run_id))
        except (OSError, ValueError, pd.errors.ParserError):
            report.notes.append(f"{path}: unreadable; left out of the learning curves")
    return pd.concat(frames) if frames else pd.DataFrame()


def learning_curves(report: ExperimentReport, runs: pd.DataFrame, path: Path) -> Path:
    """Validation accuracy and loss per epoch, mean over seeds with a ±1 std band; training dashed."""
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    history = _histories(report, runs).merge(runs[["run_id", "dataset", "model", "hidden_activation", "output_activation"]], on="run_id")
    blocks = list(history.groupby(["dataset", "model"], sort=True)) if not history.empty else []
    figure, axes = plt.subplots(max(len(blocks), 1), 2, figsize=(13, 4.2 * max(len(blocks), 1)), squeeze=False)
    for (block, frame), (acc_axis, loss_axis) in zip(blocks, axes):
        for index, (label, curve) in enumerate(frame.groupby(frame["hidden_activation"] + " -> " + frame["output_activation"])):
            color = plt.cm.tab10(index % 10)
            per_epoch = curve.groupby("epoch")
            for axis, metric in ((acc_axis, "accuracy"), (loss_axis, "loss")):
                mean, std = per_epoch[f"val_{metric}"].mean(), per_epoch[f"val_{metric}"].std().fillna(0)
                axis.plot(mean.index, mean, color=color, label=f"{label} (validation)")
                axis.fill_between(mean.index, mean - std, mean + std, color=color, alpha=0.15)
                axis.plot(mean.index, per_epoch[metric].mean(), color=color, linestyle="--", linewidth=1, label=f"{label} (training)")
        for axis, metric in ((acc_axis, "accuracy (fraction correct)"), (loss_axis, "loss (cross-entropy)")):
            axis.set_title(f"{block[0]} / {block[1]}: {metric.split(' ')[0]}")
            axis.set_xlabel("epoch")
            axis.xaxis.set_major_locator(MaxNLocator(integer=True))
            axis.set_ylabel(metric)
            axis.grid(alpha=0.3)
        acc_axis.legend(fontsize=7, loc="lower right")
    figure.suptitle(f"{report.name}: learning curves (mean over seeds, band ±1 std; dashed: training)")
    return save(figure, path)


def accuracy_vs_time(report: ExperimentReport, path: Path) -> Path:
    """One point per group: mean training time against mean test accuracy, bars ±1 std of accuracy."""
    plt = _pyplot()
    summary = report.aggregated.summary
    figure, axis = plt.subplots(figsize=(9, 6))
    for index, ((dataset, model), block) in enumerate(summary.groupby(["dataset", "model"], sort=True)):
        marker = "os^Dv<>p"[index % 8]
        axis.errorbar(
            block["train_seconds_mean"], block["acc_mean"], yerr=block["acc_std"].fillna(0),
            fmt=marker, capsize=3, label=f"{dataset} / {model}",
        )
        for row in block.itertuples():
            axis.annotate(f"{row.hidden_activation}->{row.output_activation}", (row.train_seconds_mean, row.acc_mean),
                          fontsize=7, xytext=(4, 3), textcoords="offset points")
    axis.set_xlabel("training time per run (seconds, mean over seeds)")
    axis.set_ylabel("test accuracy (fraction correct, mean ± std over seeds)")
    axis.set_title(f"{report.name}: accuracy against training time")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    return save(figure, path)


def parse_label(text: str) -> tuple[str, dict]:
    """Inverse of activations.label: 'leaky_relu(alpha=0.1)' -> ('leaky_relu', {'alpha': 0.1})."""
    name, _, rest = text.partition("(")
    params = {}
    for item in filter(None, rest.rstrip(")").split(", ")):
        key, _, value = item.partition("=")
        params[key] = value == "true" if value in ("true", "false") else float(value)
    return name, params


def activation_functions(labels: list[str], path: Path) -> Path:
    """Each activation and its derivative over [-5, 5] (the seed tutorial's visualisation exercise)."""
    plt = _pyplot()
    x = np.linspace(-5, 5, 1001)
    figure, (value_axis, slope_axis) = plt.subplots(1, 2, figsize=(13, 5))
    for label in labels:
        name, params = parse_label(label)
        if is_custom(name) or name not in CATALOGUE:
            continue
        y = reference_curve(canonical_name(name), resolve_params(name, params), x)
        if y is None:  # softmax has no single-input curve
            continue
        value_axis.plot(x, y, label=label)
        slope_axis.plot(x, np.gradient(y, x), label=label)
    for axis, what in ((value_axis, "f(x)"), (slope_axis, "f'(x) (numerical derivative)")):
        axis.axhline(0, color="black", linewidth=0.5)
        axis.axvline(0, color="black", linewidth=0.5)
        axis.set_xlabel("input x (pre-activation)")
        axis.set_ylabel(what)
        axis.grid(alpha=0.3)
    value_axis.set_title("activation functions")
    slope_axis.set_title("their derivatives: where the gradient vanishes")
    value_axis.set_ylim(-2, 5)
    value_axis.legend(fontsize=8)
    return save(figure, path)
