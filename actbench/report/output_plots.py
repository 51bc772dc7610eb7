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
    figure, axes = grid(len(panels), 4, 3.6, 4.4)
    for axis, (run, matrix) in zip(axes, panels):
        counts = matrix.to_numpy()
        shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
        axis.imshow(shares, cmap="Blues", vmin=0, vmax=1)
        small = len(counts) > 2
        for (i, j), count in np.ndenumerate(counts):
            axis.text(
                j,
                i,
                str(count),
                ha="center",
                va="center",
                fontsize=5.5 if small else 10,
                color="white" if shares[i, j] > 0.5 else "black",
            )
        names = [str(n) for n in matrix.columns]
        axis.set_xticks(
            range(len(names)), names, rotation=45 if small else 0, ha="right" if small else "center", fontsize=6
        )
        axis.set_yticks(range(len(names)), [str(n) for n in matrix.index], fontsize=6)
        axis.set_xlabel("predicted class", fontsize=7)
        axis.set_ylabel("true class", fontsize=7)
        where = f"{run.block_label}\n" if several_blocks else ""
        # Two lines: a long label (parameters, "(2 units)") on one line runs into the next panel's.
        axis.set_title(f"{where}{run.label}\nseed {run.seed}: acc {run.test_accuracy:.4f}", fontsize=7.5)
    title(
        figure,
        report.name,
        "confusion matrix of each group's best run (colour: share of the true class)",
        report.aggregated.summary,
    )
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
