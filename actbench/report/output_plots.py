"""How the output layer judges: confusion matrices of each group's best run, reliability diagrams per output."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from actbench.evaluation import confidence_and_correct, expected_calibration_error, reliability_bins
from actbench.report import ExperimentReport
from actbench.report.figure import grid, group_label, pyplot, save
from actbench.results import read_predictions, run_dir

MAX_PANELS = 24


def confusion_matrices(report: ExperimentReport, finished: pd.DataFrame, path: Path) -> Path | None:
    """One panel per group: the confusion matrix of its most accurate run, colour = share of the true class."""
    keys = report.aggregated.group_keys
    best = finished.sort_values("test_accuracy", ascending=False).groupby(keys, dropna=False, sort=False).head(1)
    panels = []
    for run in best.head(MAX_PANELS).itertuples():
        matrix_path = run_dir(report.exp_dir, run.run_id) / "confusion_matrix.csv"
        try:
            panels.append((run, pd.read_csv(matrix_path, index_col=0)))
        except (OSError, ValueError):
            continue  # runs from before confusion matrices were saved
    if not panels:
        return None
    if len(best) > MAX_PANELS:
        report.notes.append(f"confusion_matrices.png shows the first {MAX_PANELS} of {len(best)} groups")
    figure, axes = grid(len(panels), 3, 5.2, 4.8)
    for axis, (run, matrix) in zip(axes, panels):
        counts = matrix.to_numpy()
        shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
        axis.imshow(shares, cmap="Blues", vmin=0, vmax=1)
        small = len(counts) > 2
        for (i, j), count in np.ndenumerate(counts):
            axis.text(j, i, str(count), ha="center", va="center", fontsize=6 if small else 10,
                      color="white" if shares[i, j] > 0.5 else "black")
        names = [str(n) for n in matrix.columns]
        axis.set_xticks(range(len(names)), names, rotation=45 if small else 0, ha="right" if small else "center", fontsize=7)
        axis.set_yticks(range(len(names)), [str(n) for n in matrix.index], fontsize=7)
        axis.set_xlabel("predicted class")
        axis.set_ylabel("true class")
        axis.set_title(f"{run.dataset} / {run.model}\n{group_label(run)}, seed {run.seed}: acc {run.test_accuracy:.4f}", fontsize=8)
    figure.suptitle(f"{report.name}: confusion matrix of each group's best run (colour: share of the true class)")
    return save(figure, path)


def reliability(report: ExperimentReport, finished: pd.DataFrame, path: Path) -> Path | None:
    """Per dataset and output activation: accuracy against confidence, one line per hidden activation (seeds pooled)."""
    pooled: dict[tuple, dict[str, list]] = {}
    for run in finished.itertuples():
        try:
            probabilities, labels, _ = read_predictions(run_dir(report.exp_dir, run.run_id))
        except (OSError, ValueError, KeyError):
            continue
        panel = pooled.setdefault((run.dataset, getattr(run, "task", "multiclass"), run.output_activation), {})
        confidence, correct = confidence_and_correct(probabilities, labels)
        entry = panel.setdefault(run.hidden_activation, [[], []])
        entry[0].append(confidence)
        entry[1].append(correct)
    if not pooled:
        return None
    plt = pyplot()
    figure, axes = grid(len(pooled), 3, 5, 4.6)
    for axis, ((dataset, task, output), lines) in zip(axes, sorted(pooled.items())):
        axis.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfect calibration")
        for index, (hidden, (confidences, corrects)) in enumerate(sorted(lines.items())):
            confidence, correct = np.concatenate(confidences), np.concatenate(corrects)
            table = reliability_bins(confidence, correct)
            filled = table["count"] > 0
            ece = expected_calibration_error(confidence, correct)
            axis.plot(table["confidence"][filled], table["accuracy"][filled], marker="o", markersize=3,
                      color=plt.cm.tab10(index % 10), label=f"{hidden}: ECE {ece:.3f}")
        lowest = 0.5 if task != "multiclass" else 0.0  # two classes: confidence is never below 0.5
        axis.set_xlim(lowest, 1)
        axis.set_ylim(0, 1)
        axis.set_xlabel("confidence (probability of the predicted class)")
        axis.set_ylabel("accuracy in that confidence bin")
        axis.set_title(f"{dataset} {task if task != 'multiclass' else ''}: output {output}", fontsize=9)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7, loc="upper left")
    figure.suptitle(f"{report.name}: reliability diagrams (test set, seeds pooled; below the diagonal = overconfident)")
    return save(figure, path)
