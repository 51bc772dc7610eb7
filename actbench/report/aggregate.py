"""Aggregate runs over seeds: mean, spread, 95% confidence interval, rank, and Welch's t-test against the best.

A *group* is every run that differs only by seed. A *block* is the set of groups that differ only
by their activations (same dataset, source, data size, model and training): ranks and tests
compare groups within a block, never across blocks.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

ACTIVATION_KEYS = ["hidden_activation", "output_activation"]
# `initializer: auto` follows the hidden activation and the output width follows the output
# activation, so they vary with them: part of what is compared, not of the block (otherwise every
# activation would sit alone in its own block).
FOLLOWS_ACTIVATION = ["model.initializer", "output_units"]
# Averaged over seeds beside accuracy when the runs recorded them (older runs and diagnostics-off
# runs simply lack some): output-layer metrics (issue 4) and diagnostics headlines (issue 5).
EXTRA_METRICS = [
    "keras_accuracy", "log_loss", "macro_f1", "min_class_recall", "ece", "confidence_correct", "confidence_wrong",
    "recall", "f1", "recall_tuned", "f1_tuned", "roc_auc", "pr_auc",
    "dead_fraction_max", "saturated_fraction_max", "grad_ratio_initial", "grad_ratio_first_last", "diagnostics_seconds",
]
NOT_GROUP_KEYS = {"run_id", "seed", "experiment", "status", "error", "traceback", "data_origin"}
ALPHA = 0.05


@dataclass
class Aggregated:
    summary: pd.DataFrame  # one row per group
    problems: pd.DataFrame  # diverged and failed runs, one row each
    block_keys: list[str]
    group_keys: list[str]


def spec_columns(runs: pd.DataFrame) -> list[str]:
    """Columns describing what a run is (not what it measured): the identity columns and dotted spec keys."""
    leading = ["dataset", "task", "source", "model", *ACTIVATION_KEYS, "limit_train", "limit_test", "deterministic", "diagnostics"]
    return [c for c in leading if c in runs.columns] + sorted(c for c in runs.columns if "." in c)


def confidence_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Student-t interval for the mean; NaN bounds with fewer than two values."""
    n = len(values)
    if n < 2:
        return math.nan, math.nan
    mean, sem = float(np.mean(values)), float(stats.sem(values))
    if sem == 0:
        return mean, mean
    low, high = stats.t.interval(level, n - 1, loc=mean, scale=sem)
    return float(low), float(high)


def welch_test(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided p-value of Welch's t-test; NaN when either side has fewer than two runs."""
    if len(a) < 2 or len(b) < 2:
        return math.nan
    if np.std(a) == 0 and np.std(b) == 0:
        return 1.0 if np.mean(a) == np.mean(b) else 0.0
    with warnings.catch_warnings():  # scipy warns on nearly identical samples; the p-value stands
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(stats.ttest_ind(a, b, equal_var=False).pvalue)


def aggregate(runs: pd.DataFrame) -> Aggregated:
    group_keys = spec_columns(runs)
    block_keys = [k for k in group_keys if k not in ACTIVATION_KEYS + FOLLOWS_ACTIVATION]
    done = runs[runs["status"] == "finished"]
    problems = runs[runs["status"] != "finished"]
    rows = []
    for key, group in done.groupby(group_keys, dropna=False, sort=False):
        accuracy = group["test_accuracy"].to_numpy(dtype=float)
        low, high = confidence_interval(accuracy)
        rows.append(
            {
                **dict(zip(group_keys, key)),
                "n": len(group),
                "acc_mean": float(np.mean(accuracy)),
                "acc_std": float(np.std(accuracy, ddof=1)) if len(group) > 1 else math.nan,
                "acc_ci_low": low,
                "acc_ci_high": high,
                "loss_mean": float(group["test_loss"].mean()),
                "best_val_acc_mean": float(group["best_val_accuracy"].mean()),
                "best_epoch_mean": float(group["best_epoch"].mean()),
                "train_seconds_mean": float(group["train_seconds"].mean()),
                "seconds_per_epoch_mean": float(group["seconds_per_epoch"].mean()),
                **_extra_means(group),
                "_accuracies": accuracy,
            }
        )
    summary = pd.DataFrame(rows)
    if not summary.empty:
        summary = _rank_and_test(summary, block_keys)
    return Aggregated(summary, problems.reset_index(drop=True), block_keys, group_keys)


def _extra_means(group: pd.DataFrame) -> dict[str, float]:
    found = {}
    for metric in EXTRA_METRICS:
        values = group[metric].dropna().to_numpy(dtype=float) if metric in group else np.array([])
        if len(values):
            found[f"{metric}_mean"] = float(np.mean(values))
            found[f"{metric}_std"] = float(np.std(values, ddof=1)) if len(values) > 1 else math.nan
    return found


def _rank_and_test(summary: pd.DataFrame, block_keys: list[str]) -> pd.DataFrame:
    parts = []
    for _, block in summary.groupby(block_keys, dropna=False, sort=False):
        block = block.sort_values("acc_mean", ascending=False).copy()
        block["rank"] = np.arange(1, len(block) + 1)
        best = block.iloc[0]["_accuracies"]
        p_values = [welch_test(best, accuracies) for accuracies in block["_accuracies"]]
        block["p_vs_best"] = p_values
        block.loc[block["rank"] == 1, "p_vs_best"] = math.nan
        block["vs_best"] = [_verdict(rank, p, len(acc), len(best)) for rank, p, acc in zip(block["rank"], p_values, block["_accuracies"])]
        parts.append(block)
    return pd.concat(parts).drop(columns="_accuracies").reset_index(drop=True)


def _verdict(rank: int, p_value: float, n: int, n_best: int) -> str:
    if rank == 1:
        return "best"
    if n < 2 or n_best < 2:
        return "no test (needs 2+ seeds)"
    return "worse (p<0.05)" if p_value < ALPHA else "not distinguishable"


def pivot(summary: pd.DataFrame) -> pd.DataFrame:
    """Activations as rows, dataset x model as columns, 'mean ± std' test accuracy in the cells."""
    if summary.empty:
        return pd.DataFrame()
    cells = summary.assign(
        activation=summary["hidden_activation"] + " -> " + summary["output_activation"],
        column=summary["dataset"] + " / " + summary["model"],
        cell=[mean_std(m, s) for m, s in zip(summary["acc_mean"], summary["acc_std"])],
    )
    table = cells.pivot_table(index="activation", columns="column", values="cell", aggfunc="first")
    order = cells.groupby("activation")["acc_mean"].mean().sort_values(ascending=False).index
    return table.loc[order].fillna("")


def mean_std(mean: float, std: float, digits: str = ".4f") -> str:
    if math.isnan(mean):
        return "-"
    return f"{mean:{digits}}" if math.isnan(std) else f"{mean:{digits}} ± {std:{digits}}"
