"""`actbench report`: read an experiment's run directories, aggregate over seeds, render and write the report.

Never imports TensorFlow. Reads the run directories (the source of truth), not results.csv, so a
results.csv edited by hand cannot mislead it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from actbench import reference as published
from actbench.config import Reference
from actbench.dataset_catalogue import DATASETS
from actbench.errors import ActbenchError
from actbench.metrics_catalogue import in_table
from actbench.report.aggregate import EXTRA_METRICS, Aggregated, aggregate, label_runs, pivot
from actbench.report.labels import model_labels, output_labels
from actbench.report.ranks import Overall, experiment_overall
from actbench.report.scope import Scope, find_experiments, no_match_message, parse_filters, select_runs
from actbench.report.tuning import Tuned, experiment_tuning
from actbench.results import RunStatus, read_confusion, read_spec, run_dir
from actbench.settings_catalogue import test_set_settings

__all__ = ["ExperimentReport", "build_report", "build_reports", "find_experiments"]
# The verdict and accuracy-table metrics, and the test-set size behind the chance threshold.
NUMERIC = [metric.name for metric in (*in_table("verdict"), *in_table("accuracy"))] + ["n_test"]


@dataclass
class ExperimentReport:
    name: str
    exp_dir: Path
    runs: pd.DataFrame  # the runs in scope, with model and output labels
    aggregated: Aggregated
    pivot: pd.DataFrame
    scope: Scope
    notes: list[str] = field(default_factory=list)
    reference: Reference | None = None  # the published result the experiment's config.yaml cites
    comparison: pd.DataFrame = field(default_factory=pd.DataFrame)  # published vs measured, reference.COLUMNS
    overall: Overall | None = None  # the activations ranked across the blocks, where there are two or more
    tuned: Tuned | None = None  # a tuned experiment's choices (its tuning runs are not in `runs`)


def build_report(exp_dir: Path, filters: Sequence[str] = (), all_runs: bool = False) -> ExperimentReport:
    notes: list[str] = []
    runs, scope = select_runs(exp_dir, all_runs, list(filters), notes)
    if "stage" in runs:  # a tuned experiment's tuning runs chose its settings: never tested, never judged
        runs = runs[runs["stage"] != "tune"].reset_index(drop=True)
    cited, comparison = published.experiment_comparison(exp_dir, runs, notes)  # on results.csv's values, as --filter
    if runs.empty:
        aggregated = Aggregated(pd.DataFrame(), pd.DataFrame())
    else:
        runs = runs.assign(model=model_labels(runs), output_activation=output_labels(runs))
        for column in NUMERIC + [m.name for m in EXTRA_METRICS if m.name in runs]:
            runs[column] = pd.to_numeric(runs[column], errors="coerce") if column in runs else float("nan")
        runs["chance_level"] = _chance_levels(exp_dir, runs)
        aggregated = aggregate(runs)
        runs = label_runs(runs, aggregated)
        aggregated.problems = runs[runs["status"] != RunStatus.FINISHED].reset_index(drop=True)  # with their labels
    if cited is not None:
        aggregated.summary, comparison = _with_published(aggregated.summary, comparison)
    return ExperimentReport(
        exp_dir.name,
        exp_dir,
        runs,
        aggregated,
        pivot(aggregated.summary),
        scope,
        notes,
        cited,
        comparison,
        experiment_overall(exp_dir.name, aggregated.summary, runs),
        experiment_tuning(exp_dir, aggregated.summary),
    )


def build_reports(target: Path, filters: Sequence[str] = (), all_runs: bool = False) -> list[ExperimentReport]:
    """The report of each experiment under `target` (an experiment folder or a results folder), as
    `actbench report` builds them: the latest plan's runs, or every run with `all_runs`, narrowed by
    `filters` ("dataset=mnist"); an error when the filters match no run anywhere."""
    parse_filters(list(filters))
    reports = [build_report(exp_dir, list(filters), all_runs) for exp_dir in find_experiments(Path(target))]
    if filters and all(report.runs.empty for report in reports):
        raise ActbenchError(no_match_message(list(filters), [report.scope for report in reports], Path(target)))
    return reports


def _with_published(summary: pd.DataFrame, comparison: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The summary with each group's published value, difference and agreement (for CSV, JSON and the API),
    and the comparison with each group's block and label (for the tables)."""
    if summary.empty:
        return summary, comparison.assign(block_label="", label="")
    names = summary.set_index("group_id")[["block_label", "label"]]
    labelled = comparison.join(names, on="group_id")
    by_group = comparison.dropna(subset=["group_id"]).set_index("group_id")
    columns = {"published": "published", "difference": "published_difference", "agrees": "published_agrees"}
    summary = summary.join(by_group[list(columns)].rename(columns=columns), on="group_id")
    return summary, labelled


def _chance_levels(exp_dir: Path, runs: pd.DataFrame) -> pd.Series:
    """Per run, the accuracy of always predicting the commonest test class: the score of a network that learned nothing.

    Read from one saved confusion matrix per test set (its row sums are the class counts); runs
    without one fall back to the task on K balanced classes: 1/K, or the larger side of a binary split.
    """
    levels = pd.Series(float("nan"), index=runs.index)
    for _, same_test_set in runs.groupby(test_set_settings(), dropna=False, sort=False):
        for run_id in same_test_set.loc[same_test_set["status"] == RunStatus.FINISHED, "run_id"]:
            try:
                counts = read_confusion(run_dir(exp_dir, run_id)).to_numpy().sum(axis=1)
            except (OSError, ValueError):
                continue
            levels[same_test_set.index] = counts.max() / max(counts.sum(), 1)
            break
    classes = pd.Series([_class_count(exp_dir, run) for run in runs.itertuples()], index=runs.index)
    positive_share = runs["task_positive"].map(lambda text: len(json.loads(text))) / classes
    larger_side = positive_share.clip(lower=1 - positive_share)  # the larger of p and 1 - p
    return levels.fillna(larger_side.where(runs["task_type"] == "binary", 1 / classes))


def _class_count(exp_dir: Path, run: Any) -> float:
    """The classes of a run's dataset: the catalogue's, or those its spec records for a dataset of your own."""
    if run.dataset in DATASETS:
        return DATASETS[run.dataset].classes
    try:
        return read_spec(run_dir(exp_dir, run.run_id))["own_data"]["classes"]
    except (OSError, ValueError, KeyError, TypeError):
        return float("nan")
