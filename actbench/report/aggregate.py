"""Aggregate runs over seeds and give each group its verdict within its block.

A *group* is every run that differs only by seed. A *block* is the set of groups that differ only
by their activations (same dataset, source, data size, model and training): verdicts compare
groups within a block (actbench.stats), never across blocks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from actbench import stats
from actbench.metrics_catalogue import averaged_with_spread, in_table
from actbench.report.labels import ACTIVATION_KEYS, FOLLOWS_ACTIVATION, add_labels, setting_columns

# Averaged over seeds with their spread when the runs recorded them (older runs and diagnostics-off
# runs simply lack some): the metrics of the report's extra tables.
EXTRA_METRICS = averaged_with_spread()
# Averaged over seeds beside accuracy, under the summary column each row names.
MEANS = {metric.name: metric.mean_column for metric in in_table("accuracy")}
STATS_COLUMNS = {"mean": "acc_mean", "sd": "acc_std", "ci_low": "acc_ci_low", "ci_high": "acc_ci_high", "difference": "diff_vs_top"}
# Carried from the runs to their group unchanged: the structure behind the labels.
STRUCTURE = ["task_type", "task_positive", "hidden_activation_name", "hidden_activation_params", "model.hidden_units", "model.filters"]
# How far above chance a group that learned nothing can land: three binomial standard errors of
# one run's accuracy on the test set (a guesser's accuracy spread), see `chance_threshold`.
CHANCE_SPREAD = 3.0


@dataclass
class Aggregated:
    summary: pd.DataFrame  # one row per group, blocks in order, ranked within each
    problems: pd.DataFrame  # diverged and failed runs, one row each
    group_keys: list[str]
    run_groups: pd.Series  # per run (same index as the runs), the `group` number of its summary row


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
    """Groups over seeds; `runs` has labelled model/output columns and, per run, `chance_level`."""
    group_keys = setting_columns(runs)
    block_keys = [k for k in group_keys if k not in ACTIVATION_KEYS + FOLLOWS_ACTIVATION]
    rows = []
    run_groups = pd.Series(-1, index=runs.index)
    for number, (key, group) in enumerate(runs.groupby(group_keys, dropna=False, sort=False)):
        done = group[group["status"] == "finished"]
        run_groups[group.index] = number
        rows.append({
            "group": number,
            **dict(zip(group_keys, key)),
            **{column: group[column].iloc[0] for column in STRUCTURE if column in group},
            "runs": len(group),
            "not_finished": len(group) - len(done),
            **{name: float(done[column].mean()) if len(done) else math.nan for column, name in MEANS.items()},
            **_extra_means(done),
            "chance_level": float(group["chance_level"].max()),
            "n_test": float(group["n_test"].max()) if "n_test" in group else math.nan,
            "_by_seed": dict(zip(done["seed"], done["test_accuracy"].astype(float))),
        })
    summary = pd.DataFrame(rows)
    if not summary.empty:
        summary = add_labels(_verdicts(summary, block_keys))
    problems = runs[runs["status"] != "finished"].reset_index(drop=True)
    return Aggregated(summary, problems, group_keys, run_groups)


def label_runs(runs: pd.DataFrame, aggregated: Aggregated) -> pd.DataFrame:
    """Each run with its group's block number, block label and label, for plots drawn from run files."""
    if aggregated.summary.empty:
        return runs
    names = aggregated.summary.set_index("group")[["block", "block_label", "label"]]
    return runs.join(names, on=aggregated.run_groups)  # type: ignore[arg-type]  # pandas takes an array as `on`; its stub says no


def _verdicts(summary: pd.DataFrame, block_keys: list[str]) -> pd.DataFrame:
    parts = []
    for block_number, (_, block) in enumerate(summary.groupby(block_keys, dropna=False, sort=True)):
        seeds = pd.DataFrame(list(block["_by_seed"]), index=block.index)
        compared = stats.compare_block(seeds.reindex(sorted(seeds.columns), axis=1)).rename(columns=STATS_COLUMNS)
        block = block.assign(block=block_number, **{column: compared[column] for column in compared.columns})
        block["did_not_learn"] = [
            not math.isnan(mean) and mean <= chance_threshold(chance, n_test)
            for mean, chance, n_test in zip(block["acc_mean"], block["chance_level"], block["n_test"])
        ]
        parts.append(block.sort_values(["rank", "acc_mean"], ascending=[True, False], na_position="last", kind="stable"))
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
    cells = summary.assign(cell=[mean_std(m, s) for m, s in zip(summary["acc_mean"], summary["acc_std"])])
    table = cells.pivot_table(index="label", columns="block_label", values="cell", aggfunc="first", sort=False)
    order = cells.groupby("label")["acc_mean"].mean().sort_values(ascending=False).index
    return table.loc[order].fillna("")


def mean_std(mean: float, std: float, digits: str = ".4f") -> str:
    if math.isnan(mean):
        return "-"
    return f"{mean:{digits}}" if math.isnan(std) else f"{mean:{digits}} ± {std:{digits}}"
