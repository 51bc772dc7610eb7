"""The metric catalogue against real runs: every figure a run saves is a row (or listed as not a
metric), every row is saved by some run, and every row of a report table reaches the report."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from actbench.cli import app
from actbench.metrics_catalogue import EXTRA_TABLES, METRICS, NOT_METRICS, in_table
from helpers import write_config

# One sweep that records everything: a binary task (positive-class scores) with diagnostics, and a
# multiclass one (per-class scores); small and one epoch, so it trains in seconds.
CONFIG = """
name: {name}
datasets: [mnist]
task: {task}
data: {{source: sample, limit_train: 300, limit_test: 100}}
models: [{{type: mlp, hidden_units: [16]}}]
hidden_activations: [relu]
output_activations: [{output}]
training: {{epochs: 1, batch_size: 64}}
diagnostics: true
"""


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("catalogue")
    for name, task, output in [
        ("binary", "{type: binary, positive: [0]}", "sigmoid"),
        ("multiclass", "{type: multiclass}", "softmax"),
    ]:
        config = write_config(folder, CONFIG.format(name=name, task=task, output=output), f"{name}.yaml")
        outcome = CliRunner().invoke(app, ["run", str(config), "--results-dir", str(folder / "results")])
        assert outcome.exit_code == 0, outcome.output
    return folder / "results"


def saved_keys(results: Path) -> set[str]:
    return {key for path in results.glob("*/runs/*/metrics.json") for key in json.loads(path.read_text())}


def test_every_saved_figure_is_a_catalogue_row_or_listed_as_not_a_metric(results):
    unknown = sorted(saved_keys(results) - set(METRICS) - NOT_METRICS)
    assert not unknown, (
        f"metrics.json holds {unknown}, which no report or exporter knows: add a row to "
        "actbench/metrics_catalogue.py (with its table, or None), or list it in NOT_METRICS"
    )


def test_every_catalogue_row_is_saved_by_a_real_run(results):
    assert not sorted(set(METRICS) - saved_keys(results)), "a catalogue row that no run records"
    assert not set(METRICS) & NOT_METRICS


def test_every_tabled_metric_reaches_the_report(results):
    outcome = CliRunner().invoke(app, ["report", str(results), "--format", "json", "--no-plots"])
    assert outcome.exit_code == 0, outcome.output
    groups = [group for experiment in json.loads(outcome.stdout)["experiments"] for group in experiment["groups"]]
    columns = set().union(*groups)
    for table in ("accuracy", *EXTRA_TABLES):
        for metric in in_table(table):
            assert metric.mean_column in columns, metric.name
    assert all(isinstance(group["acc_mean"], float) for group in groups)  # the verdict's metric: test_accuracy
    text = CliRunner().invoke(app, ["report", str(results), "--no-plots", "--wide"]).output
    for metric in in_table("positive_class") + in_table("diagnostics"):
        assert metric.label in text, metric.label


def test_headers_and_sort_names_are_unambiguous():
    from actbench.report.tables import SORT_KEYS

    for table in ("accuracy", *EXTRA_TABLES):
        labels = [metric.label for metric in in_table(table)]
        assert len(labels) == len(set(labels)), table
    assert len(SORT_KEYS) == 6 + len(in_table("accuracy"))  # no metric's sort name shadows rank, accuracy, ...
    assert [metric.name for metric in in_table("verdict")] == ["test_accuracy"]
