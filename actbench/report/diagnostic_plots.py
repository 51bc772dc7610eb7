"""Inside the network (runs with diagnostics): dead and saturated units over epochs, gradient norms per
layer, and the activation histograms after the last epoch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from actbench import results
from actbench.naming import ARROW
from actbench.report import ExperimentReport
from actbench.report.figure import (
    Looks,
    grid,
    left_out_note,
    legend_outside,
    pyplot,
    save,
    shared_lines,
    shared_note,
    title,
)
from actbench.results import RunStatus

MAX_GROUPS = 16


def read_diagnostics(report: ExperimentReport, runs: pd.DataFrame) -> pd.DataFrame:
    """diagnostics.csv of every run that has one, with the run's identity columns attached."""
    frames = []
    run: Any  # itertuples() rows: namedtuples of the frame's columns, which the type checker cannot know
    for run in runs.itertuples():
        directory = results.run_dir(report.exp_dir, run.run_id)
        try:
            frame = results.read_diagnostics(directory)
        except (OSError, ValueError):
            report.notes.append(f"{directory / results.DIAGNOSTICS}: unreadable; left out of the diagnostics plots")
            continue
        if frame is not None:
            frames.append(frame.assign(run_id=run.run_id))
    if not frames:
        return pd.DataFrame()
    identity = runs[["run_id", "block", "block_label", "label", "hidden_activation", "output_activation", "seed"]]
    return pd.concat(frames).merge(identity, on="run_id")


def _groups(diagnostics: pd.DataFrame) -> tuple[list[tuple[str, pd.DataFrame]], int]:
    """Up to MAX_GROUPS (title, rows) per group, in block order, and how many groups there are."""
    titled = []
    several_blocks = diagnostics["block"].nunique() > 1
    for (_, label), frame in diagnostics.groupby(["block", "label"], sort=True):
        titled.append((str(label) + (f"\n{frame['block_label'].iloc[0]}" if several_blocks else ""), frame))
    return titled[:MAX_GROUPS], len(titled)


def dead_units(report: ExperimentReport, diagnostics: pd.DataFrame, path: Path) -> Path:
    """Per group: share of dead units (solid) and saturated units (dashed) of each hidden layer, by epoch."""
    plt = pyplot()
    from matplotlib.ticker import MaxNLocator

    groups, total = _groups(diagnostics)
    figure, axes = grid(len(groups), 4, 4.2, 3.4)
    for axis, (heading, frame) in zip(axes, groups):
        hidden = frame[frame["dead_fraction"].notna()]
        layers = sorted(hidden["layer"].unique())
        for layer in layers:
            per_epoch = hidden[hidden["layer"] == layer].groupby("epoch")
            color = plt.cm.viridis(layer / max(len(layers), 1))
            axis.plot(per_epoch["dead_fraction"].mean(), color=color, label=f"layer {layer}")
            saturated = per_epoch["saturated_fraction"].mean()
            if saturated.notna().any():
                axis.plot(saturated, color=color, linestyle="--")
        axis.set_ylim(-0.02, 1.02)
        axis.set_title(heading, fontsize=9)
        axis.set_xlabel("epoch (0 = initialisation)")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.set_ylabel("share of units")
        axis.grid(alpha=0.3)
    if axes:
        legend_outside(axes[min(3, len(axes) - 1)], fontsize=7)
    title(
        figure,
        report.name,
        "dead units (solid) and saturated units (dashed) per hidden layer, mean over seeds",
        report.aggregated.summary,
    )
    left_out_note(figure, len(groups), total, "groups")
    return save(figure, path)


def gradient_norms(report: ExperimentReport, diagnostics: pd.DataFrame, looks: Looks, path: Path) -> Path:
    """Per block: norm of dLoss/dkernel per layer at initialisation and after the last epoch, log scale, per group."""
    lines = shared_lines(report.runs[report.runs["status"] == RunStatus.FINISHED])  # groups that scored alike: one line
    diagnostics = diagnostics.merge(lines.loc[lines["first"], ["run_id", "line"]], on="run_id")
    last_epoch = diagnostics.groupby("run_id")["epoch"].transform("max")
    moments = [
        ("at initialisation", diagnostics["epoch"] == 0),
        ("after the last epoch", diagnostics["epoch"] == last_epoch),
    ]
    blocks = list(diagnostics.groupby("block", sort=True))
    figure, axes = grid(2 * len(blocks), 2, 6.2, 4.4)
    for index, (_, block) in enumerate(blocks):
        for axis, (moment, chosen) in zip(axes[2 * index : 2 * index + 2], moments):
            for (label, hidden, output), curve in block[chosen.loc[block.index]].groupby(
                ["line", "hidden_activation", "output_activation"]
            ):
                per_layer = curve.groupby("layer")["grad_norm"].mean()
                axis.plot(
                    per_layer.index,
                    per_layer.clip(lower=1e-12),
                    markersize=3,
                    label=label,
                    **looks.line(hidden, output),
                )
            axis.set_yscale("log")
            where = f"{block['block_label'].iloc[0]}: " if block["block_label"].iloc[0] else ""
            axis.set_title(f"{where}gradient norm per layer, {moment}", fontsize=9)
            axis.set_xlabel("layer (1 = first hidden layer; last = output layer)")
            axis.set_ylabel("||dLoss / dkernel||, probe batch, mean over seeds", fontsize=8)
            axis.grid(alpha=0.3, which="both")
        legend_outside(axes[2 * index + 1], fontsize=7)
    title(
        figure,
        report.name,
        "gradient flow; a curve falling toward layer 1 is a vanishing gradient",
        report.aggregated.summary,
    )
    shared_note(figure, lines)
    return save(figure, path)


def activation_histograms(report: ExperimentReport, runs: pd.DataFrame, path: Path) -> Path | None:
    """Rows: groups (their lowest seed's run); columns: hidden layers. Outputs on the probe batch, after training."""
    chosen = runs.sort_values("seed").groupby(["block", "label"], sort=True).head(1).sort_values(["block", "label"])
    histograms: list[tuple[Any, list[tuple[Any, ...]]]] = []  # (run, [(layer, counts, edges), ...])
    run: Any  # itertuples() rows: namedtuples of the frame's columns, which the type checker cannot know
    for run in chosen.head(MAX_GROUPS).itertuples():
        saved = results.read_histograms(results.run_dir(report.exp_dir, run.run_id))
        if saved is not None:
            layers = sorted({key.rsplit("_", 1)[0] for key in saved}, key=lambda name: int(name.split("_")[1]))
            histograms.append((run, [(name, *(saved[key] for key in results.histogram_keys(name))) for name in layers]))
    if not histograms:
        return None
    plt = pyplot()
    columns = max(len(layers) for _, layers in histograms)
    figure, axes = plt.subplots(
        len(histograms), columns, figsize=(2.2 * columns, 1.7 * len(histograms)), squeeze=False, layout="constrained"
    )
    for row_axes, (run, panels) in zip(axes, histograms):
        for axis, (name, counts, edges) in zip(row_axes, panels):
            share = counts / max(counts.sum(), 1)
            axis.stairs(share, edges, fill=True, alpha=0.7)
            axis.set_yticks([])
            axis.tick_params(labelsize=6)
            axis.set_title(name, fontsize=7)
        # The group names its row once, at the left, broken at the arrow: repeated in every
        # panel's title, a long label ran into the next panel's.
        row_axes[0].set_ylabel(
            run.label.replace(ARROW, f"\n{ARROW.lstrip()}"), rotation=0, ha="right", va="center", fontsize=7
        )
        for axis in row_axes[len(panels) :]:
            axis.set_visible(False)
    title(
        figure,
        report.name,
        "activation values per hidden layer after training (probe batch, lowest seed)",
        report.aggregated.summary,
        fontsize=10,
    )
    left_out_note(figure, len(histograms), len(chosen), "groups")
    return save(figure, path)
