"""How the output layer judges: confusion matrices of each group's best run, reliability diagrams per block and output."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from actbench.evaluation import confidence_and_correct, reliability_bins
from actbench.report import ExperimentReport
from actbench.report.figure import Looks, grid, left_out_note, legend_outside, save, shared_lines, shared_note, title
from actbench.results import read_confusion, read_predictions, run_dir

MAX_PANELS = 24
TICK_SIZE = 8  # points: class names and axis labels, readable at the saved 110 dpi
PANEL_INCHES = (3.6, 10.0)  # a confusion matrix panel's width: as a rule, and the most it grows to for its counts
COUNT_SIZE = (6.0, 8.0, 10.0)  # points: the smallest count worth printing, the size a panel grows for, the largest
CELL_FILL = 0.85  # the share of its cell's width a count may fill


def _count_size(figure: Any, axis: Any, classes: int, widest: str) -> float:
    """The font size (points) at which the count `widest` fills CELL_FILL of a cell of `axis`'s matrix, as the
    figure is laid out now: measured at COUNT_SIZE[2] points, since a text's width grows with its size."""
    sample = axis.text(0, 0, widest, fontsize=COUNT_SIZE[2])
    figure.draw_without_rendering()  # constrained layout and the square aspect settle the axes on drawing
    renderer = figure.canvas.get_renderer()
    cell = axis.get_window_extent(renderer).width / classes
    size = COUNT_SIZE[2] * CELL_FILL * cell / sample.get_window_extent(renderer).width
    sample.remove()
    return size


def _fit_counts(figure: Any, axes: list[Any], classes: int, widest: str) -> float | None:
    """Grow the panels (up to PANEL_INCHES[1] wide) until the counts reach COUNT_SIZE[1] points, and return the
    size they get, at most COUNT_SIZE[2]; None where even then they fall below COUNT_SIZE[0]: the colour alone."""
    size = _count_size(figure, axes[0], classes, widest)
    if size < COUNT_SIZE[1]:
        width, height = figure.get_size_inches()
        panel = width / min(4, len(axes))
        grow = min(COUNT_SIZE[1] / size * 1.05, PANEL_INCHES[1] / panel)  # the class names keep their room
        figure.set_size_inches(width * grow, height * grow)
        size = _count_size(figure, axes[0], classes, widest)
    return min(size, COUNT_SIZE[2]) if size >= COUNT_SIZE[0] else None


def confusion_matrices(report: ExperimentReport, finished: pd.DataFrame, path: Path) -> Path | None:
    """One panel per group, best groups first: the confusion matrix of its most accurate run, colour = share of the true class."""
    # Rank 1 of every block, then rank 2 of every block, ...: when panels run out, each block keeps its best.
    order = report.aggregated.summary.sort_values(["rank", "block"], kind="stable")[["block", "label"]]
    order = order.reset_index(drop=True).reset_index().rename(columns={"index": "order"})
    best = (
        finished.sort_values("test_accuracy", ascending=False)
        .drop_duplicates(["block", "label"])
        .merge(order, on=["block", "label"])
        .sort_values("order")
    )
    panels = []
    for run in best.head(MAX_PANELS).itertuples():
        try:
            panels.append((run, read_confusion(run_dir(report.exp_dir, run.run_id))))
        except (OSError, ValueError):
            continue  # runs from before confusion matrices were saved
    if not panels:
        return None
    several_blocks = best["block"].nunique() > 1
    # Taller than wide: square matrices then fill the width, and constrained layout keeps the titles clear.
    figure, axes = grid(len(panels), 4, PANEL_INCHES[0], PANEL_INCHES[0] + 0.8)
    for axis, (run, matrix) in zip(axes, panels):
        values = matrix.to_numpy()
        axis.imshow(values / np.maximum(values.sum(axis=1, keepdims=True), 1), cmap="Blues", vmin=0, vmax=1)
        names = [str(n) for n in matrix.columns]
        long_names = max(map(len, names)) > 2
        axis.set_xticks(
            range(len(names)),
            names,
            rotation=45 if long_names else 0,
            ha="right" if long_names else "center",
            fontsize=TICK_SIZE,
        )
        axis.set_yticks(range(len(names)), [str(n) for n in matrix.index], fontsize=TICK_SIZE)
        axis.set_xlabel("predicted class", fontsize=TICK_SIZE)
        axis.set_ylabel("true class", fontsize=TICK_SIZE)
        where = f"{run.block_label}\n" if several_blocks else ""
        # Two lines: a long label (parameters, "(2 units)") on one line runs into the next panel's.
        axis.set_title(f"{where}{run.label}\nseed {run.seed}: acc {run.test_accuracy:.4f}", fontsize=9)
    what = "confusion matrix of each group's best run (colour: share of the true class)"
    title(figure, report.name, what, report.aggregated.summary)  # before sizing the counts: it takes room too
    classes = max(len(matrix) for _, matrix in panels)
    # Sized on the layout without them: thousands of texts (a 60-class matrix) make every drawing slow.
    widest = "8" * max(len(str(matrix.to_numpy().max())) for _, matrix in panels)  # as wide as the longest count
    count_size = _fit_counts(figure, axes, classes, widest)
    for axis, (_, matrix) in zip(axes, panels) if count_size else ():
        values = matrix.to_numpy()
        shares = values / np.maximum(values.sum(axis=1, keepdims=True), 1)
        for (i, j), count in np.ndenumerate(values):
            colour = "white" if shares[i, j] > 0.5 else "black"
            axis.text(j, i, str(count), ha="center", va="center", fontsize=count_size, color=colour)
    if not count_size:
        what = what.replace(")", f"; {classes} classes leave no room to print the counts)")
        title(figure, report.name, what, report.aggregated.summary)
    left_out_note(figure, len(panels), len(best), "groups (by rank, every block's best first)")
    return save(figure, path)


def reliability(report: ExperimentReport, finished: pd.DataFrame, looks: Looks, path: Path) -> Path | None:
    """Per block and output layer: accuracy against confidence, one line per hidden activation (seeds pooled for the curve).

    The ECE in the legend is the group's mean over seeds, the number in the tables. A group that did not
    learn is drawn faint and says so: always guessing near chance is well calibrated, and its low ECE is no merit.
    """
    lines = shared_lines(finished)
    pooled: dict[tuple, dict[tuple, list]] = {}
    run: Any  # itertuples() rows: namedtuples of the frame's columns, which the type checker cannot know
    for run in lines[lines["first"]].itertuples():  # the other groups of a shared line have the same predictions
        try:
            probabilities, labels, _ = read_predictions(run_dir(report.exp_dir, run.run_id))
        except (OSError, ValueError, KeyError):
            continue
        confidence, correct = confidence_and_correct(probabilities, labels)
        key = (run.hidden_activation, run.output_activation, run.label, run.line)
        entry = pooled.setdefault((run.block, run.outputs), {}).setdefault(key, [[], []])
        entry[0].append(confidence)
        entry[1].append(correct)
    if not pooled:
        return None
    summary = report.aggregated.summary.set_index(["block", "label"])
    figure, axes = grid(len(pooled), 2, 7.6, 4.4)  # room for the legend's longer lines (shared groups, "did not learn")
    for axis, ((block, outputs), panel) in zip(axes, sorted(pooled.items())):
        axis.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfect calibration")
        binary = False
        for (hidden, output, label, line), (confidences, corrects) in sorted(
            panel.items(), key=lambda item: item[0][3]
        ):
            group = summary.loc[(block, label)]
            binary = group["task_type"] == "binary"
            table = reliability_bins(np.concatenate(confidences), np.concatenate(corrects))
            filled = table["count"] > 0
            ece = group.get("ece_mean", math.nan)
            look = looks.line(hidden, output)
            if group["did_not_learn"]:
                text, faint = f"{line}: ECE {ece:.3f}, no merit:\ndid not learn (accuracy at chance)", {"alpha": 0.35}
            else:
                text, faint = f"{line}: ECE {ece:.3f}", {}
            axis.plot(table["confidence"][filled], table["accuracy"][filled], markersize=3, label=text, **look, **faint)
        axis.set_xlim(0.5 if binary else 0.0, 1)  # two classes: confidence is never below 0.5
        axis.set_ylim(0, 1)
        axis.set_xlabel("confidence (probability of the predicted class)")
        axis.set_ylabel("accuracy in that confidence bin")
        where = summary.loc[(block, label), "block_label"]
        axis.set_title(f"{where + ': ' if where else ''}output {outputs}", fontsize=9)
        axis.grid(alpha=0.3)
        legend_outside(axis, fontsize=7, title="ECE: mean over seeds")
    title(
        figure,
        report.name,
        "reliability diagrams (test set; below the diagonal = overconfident)",
        report.aggregated.summary,
    )
    shared_note(figure, lines)
    return save(figure, path)
