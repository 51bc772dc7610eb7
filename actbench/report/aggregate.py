"""Aggregate runs over seeds and give each group its verdict within its block.

A *group* is every run that differs only by seed, a *block* the groups that differ only by their
activations (same dataset and its content, source, data size, model and training): results.csv's
`group_id` and `block_id`, digests of the run's spec (actbench.config.grid). Verdicts compare groups
within a block (actbench.stats), paired on seed, never across blocks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from actbench import stats
from actbench.errors import ActbenchError
from actbench.metrics_catalogue import averaged_with_spread, in_table
from actbench.report.labels import add_labels, candidate_labels, setting_columns
from actbench.results import RunStatus
from actbench.settings_catalogue import block_settings, of_kind, with_types

# Averaged over seeds with their spread when the runs recorded them (older runs and diagnostics-off
# runs simply lack some): the metrics of the report's extra tables.
EXTRA_METRICS = averaged_with_spread()
# Averaged over seeds beside accuracy, under the summary column each row names.
MEANS = {metric.name: metric.mean_column for metric in in_table("accuracy")}
STATS_COLUMNS = {
    "mean": "acc_mean",
    "sd": "acc_std",
    "ci_low": "acc_ci_low",
    "ci_high": "acc_ci_high",
    "difference": "diff_vs_top",
}
# Carried from the runs to their group unchanged: the structure behind the labels.
STRUCTURE = of_kind("structure")
# How far above chance a group that learned nothing can land: three binomial standard errors of
# one run's accuracy on the test set (a guesser's accuracy spread), see `chance_threshold`.
CHANCE_SPREAD = 3.0


@dataclass
class Aggregated:
    summary: pd.DataFrame  # one row per group (its `group_id`), blocks in order, ranked within each
    problems: pd.DataFrame  # diverged and failed runs, one row each


def chance_threshold(chance: float, n_test: float) -> float:
    """Highest mean accuracy still called "did not learn".

    A network that learned nothing predicts one class, or guesses: either way its expected
    accuracy is at most the commonest class's share of the test set (`chance`; 1/10 on a balanced
    10-class set, 0.9 for one digit against the rest). Guessing spreads around that by
    sqrt(c(1-c)/n_test) from run to run: 0.0095 on 1,000 test images at c = 0.1. Three of those
    above chance keeps a guesser below the line while a network that learned even a little
    (0.15 on 10 classes, 1,000 images) stays above it.
    """
    spread = math.sqrt(chance * (1 - chance) / n_test) if n_test and n_test > 0 else 0.0
    return chance + CHANCE_SPREAD * spread


def aggregate(runs: pd.DataFrame) -> Aggregated:
    """Groups over seeds; `runs` has labelled model/output columns, `group_id`, `block_id` and, per run, `chance_level`."""
    settings = setting_columns(runs)
    rows = []
    for group_id, group in runs.groupby("group_id", sort=False):
        done = group[group["status"] == RunStatus.FINISHED]
        rows.append(
            {
                "group_id": group_id,
                "block_id": group["block_id"].iloc[0],
                **{column: group[column].iloc[0] for column in settings + STRUCTURE if column in group},
                "runs": len(group),
                "not_finished": len(group) - len(done),
                **{name: float(done[column].mean()) if len(done) else math.nan for column, name in MEANS.items()},
                **_extra_means(done),
                "chance_level": float(group["chance_level"].max()),
                "n_test": float(group["n_test"].max()) if "n_test" in group else math.nan,
                "_by_seed": _by_seed(str(group_id), done),
            }
        )
    summary = pd.DataFrame(rows)
    if not summary.empty:
        summary = add_labels(_verdicts(with_types(summary)))
    problems = runs[runs["status"] != RunStatus.FINISHED].reset_index(drop=True)
    return Aggregated(summary, problems)


def _by_seed(group_id: str, done: pd.DataFrame) -> dict[int, float]:
    """A group's accuracies by seed, what the paired tests pair on. Two runs of one seed in one group
    would be two runs of one spec; refused rather than one silently dropped while the mean counts both."""
    repeated = done["seed"][done["seed"].duplicated()]
    if len(repeated):
        raise ActbenchError(
            f"group {group_id}: runs {', '.join(done.loc[done['seed'].isin(repeated), 'run_id'])} have the same "
            f"seed {repeated.iloc[0]} and spec; delete all but one of those run folders"
        )
    return dict(zip(done["seed"].astype(int), done["test_accuracy"].astype(float)))


def label_runs(runs: pd.DataFrame, aggregated: Aggregated) -> pd.DataFrame:
    """Each run with its group's block number, block label and label, for plots drawn from run files."""
    if aggregated.summary.empty:
        return runs
    names = aggregated.summary.set_index("group_id")[["block", "block_label", "label"]]
    return runs.join(names, on="group_id")


def _verdicts(summary: pd.DataFrame) -> pd.DataFrame:
    """Each block's groups compared (numbered in the order of the settings that tell blocks apart), ranked within it."""
    ordering = [c for c in block_settings() if c in summary]
    order = summary.sort_values(ordering, kind="stable", na_position="last")
    parts = []
    for block_number, block_id in enumerate(order["block_id"].drop_duplicates()):
        block = summary[summary["block_id"] == block_id]
        seeds = pd.DataFrame(list(block["_by_seed"]), index=block.index)
        compared = stats.compare_block(seeds.reindex(sorted(seeds.columns), axis=1)).rename(columns=STATS_COLUMNS)
        block = block.assign(block=block_number, **{column: compared[column] for column in compared.columns})
        block["did_not_learn"] = [
            not math.isnan(mean) and mean <= chance_threshold(chance, n_test)
            for mean, chance, n_test in zip(block["acc_mean"], block["chance_level"], block["n_test"])
        ]
        parts.append(
            block.sort_values(["rank", "acc_mean"], ascending=[True, False], na_position="last", kind="stable")
        )
    return pd.concat(parts).drop(columns="_by_seed").reset_index(drop=True)


def _extra_means(group: pd.DataFrame) -> dict[str, float]:
    found = {}
    for metric in EXTRA_METRICS:
        values = group[metric.name].dropna().to_numpy(dtype=float) if metric.name in group else np.array([])
        if len(values):
            found[metric.mean_column] = float(np.mean(values))
            found[metric.std_column] = float(np.std(values, ddof=1)) if len(values) > 1 else math.nan
    return found


def pivot(summary: pd.DataFrame) -> pd.DataFrame:
    """Group labels as rows, blocks as columns, 'mean ± std' test accuracy in the cells; empty for one block."""
    if summary.empty or summary["block"].nunique() < 2:
        return pd.DataFrame()
    cells = summary.assign(
        # In a tuned experiment one row per activation: its choice in each block is in the tuning table.
        cell=[mean_std(m, s) for m, s in zip(summary["acc_mean"], summary["acc_std"])],
        label=candidate_labels(summary),
    )
    table = cells.pivot_table(index="label", columns="block_label", values="cell", aggfunc="first", sort=False)
    order = cells.groupby("label")["acc_mean"].mean().sort_values(ascending=False).index
    return table.loc[order].fillna("")


def mean_std(mean: float, std: float, digits: str = ".4f") -> str:
    if math.isnan(mean):
        return "-"
    return f"{mean:{digits}}" if math.isnan(std) else f"{mean:{digits}} ± {std:{digits}}"
