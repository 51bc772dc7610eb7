"""The report's PNG plots: learning curves, accuracy against training time, and the activation functions.

Every plot has one panel per block (what differs between blocks is in the panel title), one
look per group (colour: hidden activation, line style: output layer) and its legend outside.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from actbench.activations import CATALOGUE, canonical_name, is_custom, reference_curve
from actbench.report import ExperimentReport, diagnostic_plots, output_plots
from actbench.report.figure import (
    NOTE,
    Looks,
    grid,
    legend_for_all,
    pyplot,
    save,
    shared_lines,
    shared_note,
    title,
)
from actbench.results import HISTORY, RunStatus, read_history_frame, run_dir


def write_plots(report: ExperimentReport, folder: Path) -> list[Path]:
    """Draw every plot that the finished runs allow; returns the files written."""
    finished = report.runs[report.runs["status"] == RunStatus.FINISHED] if not report.runs.empty else report.runs
    if finished.empty or report.aggregated.summary.empty:
        return []
    looks = Looks(report.aggregated.summary)
    written = [
        learning_curves(report, finished, looks, folder / "learning_curves.png"),
        accuracy_vs_time(report, finished, looks, folder / "accuracy_vs_time.png"),
        activation_functions(report.aggregated.summary, looks, folder / "activations.png"),
        output_plots.confusion_matrices(report, finished, folder / "confusion_matrices.png"),
        output_plots.reliability(report, finished, looks, folder / "reliability.png"),
    ]
    diagnostics = diagnostic_plots.read_diagnostics(report, finished)
    if not diagnostics.empty:
        written += [
            diagnostic_plots.dead_units(report, diagnostics, folder / "dead_units.png"),
            diagnostic_plots.gradient_norms(report, diagnostics, looks, folder / "gradient_norms.png"),
            diagnostic_plots.activation_histograms(report, finished, folder / "activation_histograms.png"),
        ]
    return [path for path in written if path is not None]


def _histories(report: ExperimentReport, runs: pd.DataFrame) -> pd.DataFrame:
    frames = []
    run: Any  # itertuples() rows: namedtuples of the frame's columns, which the type checker cannot know
    for run in runs.itertuples():
        directory = run_dir(report.exp_dir, run.run_id)
        try:
            frames.append(read_history_frame(directory).assign(run_id=run.run_id))
        except (OSError, ValueError, pd.errors.ParserError):
            report.notes.append(f"{directory / HISTORY}: unreadable; left out of the learning curves")
    return pd.concat(frames) if frames else pd.DataFrame()


def learning_curves(report: ExperimentReport, runs: pd.DataFrame, looks: Looks, path: Path) -> Path | None:
    """Per block: validation accuracy and loss per epoch, mean over seeds with a ±1 std band; training faded."""
    history = _histories(report, runs)
    if history.empty:
        return None
    lines = shared_lines(runs)
    history = history.merge(
        lines.loc[lines["first"], ["run_id", "block", "block_label", "line", "hidden_activation", "output_activation"]],
        on="run_id",
    )
    blocks = list(history.groupby("block", sort=True))
    figure, axes = grid(2 * len(blocks), 2, 6.2, 4.0)
    for index, (_, frame) in enumerate(blocks):
        acc_axis, loss_axis = axes[2 * index], axes[2 * index + 1]
        epochs = sorted(frame["epoch"].unique())
        groups = list(frame.groupby(["line", "hidden_activation", "output_activation"], sort=True))
        for number, ((label, hidden, output), curve) in enumerate(groups):
            look = looks.line(hidden, output)
            per_epoch = curve.groupby("epoch")
            # With one epoch every curve is a single point: spread the groups sideways so none hides another.
            dodge = (number - (len(groups) - 1) / 2) * 0.6 / len(groups) if len(epochs) == 1 else 0.0
            # Each line thinner than the one before: two groups that happen to run along the same values
            # (both stuck at chance) show as a thin line inside a thick one, not as one colour.
            width = 2.4 - 1.2 * number / max(len(groups) - 1, 1)
            for axis, metric in ((acc_axis, "accuracy"), (loss_axis, "loss")):
                mean, std = per_epoch[f"val_{metric}"].mean(), per_epoch[f"val_{metric}"].std().fillna(0)
                if len(epochs) == 1:
                    axis.errorbar(mean.index + dodge, mean, yerr=std, capsize=2, markersize=5, label=label, **look)
                else:
                    axis.plot(mean.index, mean, markersize=4, linewidth=width, label=label, **look)
                    axis.fill_between(mean.index, mean - std, mean + std, color=look["color"], alpha=0.12)
                    axis.plot(
                        mean.index,
                        per_epoch[metric].mean(),
                        color=look["color"],
                        linestyle=look["linestyle"],
                        linewidth=0.8,
                        alpha=0.4,
                    )
        where = f"{frame['block_label'].iloc[0]}: " if frame["block_label"].iloc[0] else ""
        for axis, metric in ((acc_axis, "accuracy (fraction correct)"), (loss_axis, "loss")):
            axis.set_title(f"{where}validation {metric.split(' ')[0]}", fontsize=9)
            axis.set_xlabel("epoch")
            axis.set_xticks(epochs if len(epochs) <= 12 else np.linspace(epochs[0], epochs[-1], 6).round())
            axis.set_xlim(epochs[0] - 0.5, epochs[-1] + 0.5)  # one epoch is a point: give it room
            axis.set_ylabel(metric)
            axis.grid(alpha=0.3)
        bottom, top = acc_axis.get_ylim()
        acc_axis.set_ylim(max(bottom, -0.02), min(top, 1.02))  # a ±std band past 0 or 1 reaches no accuracy there is
    band = "bars ±1 std" if history["epoch"].nunique() == 1 else "band ±1 std; faded: training"
    title(figure, report.name, f"learning curves (mean over seeds, {band})", report.aggregated.summary)
    legend_for_all(figure, axes)
    shared_note(figure, lines)
    return save(figure, path)


def time_points(runs: pd.DataFrame) -> pd.DataFrame:
    """Per block and plot line (see `shared_lines`), in legend order: training time and test accuracy, mean and
    std over seeds. A shared line's time pools all its groups' runs (they trained alike); its accuracy is its first's."""
    lines = shared_lines(runs)
    per_line = lines.groupby(["block", "line"], sort=True)
    accuracy = lines[lines["first"]].groupby(["block", "line"], sort=True)["test_accuracy"]
    first = (
        lines[lines["first"]]
        .groupby(["block", "line"], sort=True)[["block_label", "hidden_activation", "output_activation"]]
        .first()
    )
    return first.assign(
        seconds_mean=per_line["train_seconds"].mean(),
        seconds_std=per_line["train_seconds"].std(),
        acc_mean=accuracy.mean(),
        acc_std=accuracy.std(),
    ).reset_index()


def accuracy_vs_time(report: ExperimentReport, runs: pd.DataFrame, looks: Looks, path: Path) -> Path:
    """Per block, one point per line: training time against test accuracy, bars ±1 std over seeds on both.

    The time axis starts at 0: the time a run takes is what is compared, and a zoomed axis would make a
    second of noise look like a difference."""
    points = time_points(runs)
    blocks = list(points.groupby("block", sort=True))
    figure, axes = grid(len(blocks), 2, 6.5, 4.6)
    row: Any  # itertuples() rows: namedtuples of the frame's columns, which the type checker cannot know
    for axis, (_, block) in zip(axes, blocks):
        for row in block.itertuples():
            look = looks.line(row.hidden_activation, row.output_activation)
            axis.errorbar(
                row.seconds_mean,
                row.acc_mean,
                xerr=_spread(row.seconds_std),
                yerr=_spread(row.acc_std),
                fmt=look["marker"],
                color=look["color"],
                capsize=3,
                markersize=6,
                label=row.line,
            )
        # From 0 to past the slowest point and its bar: autoscaling pads by the points' spread, which
        # leaves the slowest marker cut in half where the points sit close together far from 0.
        slowest = float((block["seconds_mean"] + block["seconds_std"].fillna(0)).max())
        axis.set_xlim(left=0, right=max(slowest * 1.08, 1.0))
        bottom, top = axis.get_ylim()
        axis.set_ylim(max(bottom, -0.02), min(top, 1.02))  # a ±std bar past 0 or 1 reaches no accuracy there is
        axis.set_title(block["block_label"].iloc[0], fontsize=9)
        axis.set_xlabel("training time per run (s, mean ± std over seeds)")
        axis.set_ylabel("test accuracy (mean ± std over seeds)")
        axis.grid(alpha=0.3)
    legend_for_all(figure, axes, title="group")  # a group looks the same in every block: named once
    title(figure, report.name, "accuracy against training time", report.aggregated.summary)
    shared_note(figure, shared_lines(runs))
    return save(figure, path)


def _spread(std: float) -> float:
    return 0.0 if np.isnan(std) else std


def activation_functions(summary: pd.DataFrame, looks: Looks, path: Path) -> Path:
    """Each hidden activation and its derivative over [-5, 5] (the seed tutorial's visualisation exercise)."""
    plt = pyplot()
    x = np.linspace(-5, 5, 1001)
    figure, (value_axis, slope_axis) = plt.subplots(1, 2, figsize=(12, 4.8), layout="constrained")
    shown = summary.drop_duplicates("hidden_activation").sort_values("hidden_activation")
    skipped = []
    for row in shown.itertuples():
        name, params = row.hidden_activation_name, json.loads(row.hidden_activation_params)
        y = None if is_custom(name) or name not in CATALOGUE else reference_curve(canonical_name(name), params, x)
        if y is None:  # softmax and user functions have no single-input NumPy formula here
            skipped.append(row.hidden_activation)
            continue
        colour = looks.colour[row.hidden_activation]
        value_axis.plot(x, y, color=colour, label=row.hidden_activation)
        slope_axis.plot(x, np.gradient(y, x), color=colour, label=row.hidden_activation)
    for axis, what in ((value_axis, "f(x)"), (slope_axis, "f'(x) (numerical derivative)")):
        axis.axhline(0, color="black", linewidth=0.5)
        axis.axvline(0, color="black", linewidth=0.5)
        axis.set_xlabel("input x (pre-activation)")
        axis.set_ylabel(what)
        axis.grid(alpha=0.3)
    value_axis.set_title("activation functions")
    slope_axis.set_title("their derivatives: where the gradient vanishes")
    value_axis.set_ylim(-2, 5)
    slope_axis.set_ylim(
        -0.5, 2.0
    )  # a step (thresholded_relu) has an unbounded slope; it would flatten every other curve
    legend_for_all(figure, [value_axis])
    if skipped:
        figure.text(
            0.5,
            -0.02,
            f"no curve for {', '.join(skipped)} (no single-input formula)",
            ha="center",
            va="top",
            fontsize=9,
            gid=NOTE,
        )
    return save(figure, path)
