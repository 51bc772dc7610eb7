"""Cost estimates: multiply-adds, recorded runs of the same shape before the cost model, the dry run's line."""

import pytest
from typer.testing import CliRunner

from actbench import costs
from actbench.cli import app
from actbench.config import expand_runs, load_config, run_id
from actbench.results import RunOutputs, RunRecord, run_files, save_record
from helpers import write_config


def specs(tmp_path, text: str, source: str = "full"):
    return expand_runs(
        load_config(write_config(tmp_path, "name: costs\ndatasets: [mnist]\n" + text, "costs.yaml")), {"mnist": source}
    )


def record(results, spec, wall: float | None, train_seconds: float, epochs_run: int | None = None) -> None:
    """A finished run through actbench's writer, with the wall time the runner records (None: an older run without it)."""
    fit, validation, test = costs.image_counts(spec.model_dump(mode="json"))
    metrics = {"train_seconds": train_seconds, "n_train": fit, "n_val": validation, "n_test": test}
    if epochs_run is not None:
        metrics["epochs_run"] = epochs_run
    if wall is not None:
        metrics["run_seconds"] = wall
    save_record(
        results / spec.experiment, spec.as_json(), RunRecord(run_id(spec), "finished", metrics, run_files(RunOutputs()))
    )


def test_multiply_adds_of_the_default_models():
    mlp, cnn = (s.model_dump(mode="json") for s in specs_from_models())
    assert costs.multiply_adds(mlp) == (784 * 128 + 128 * 64 + 64 * 10, 0)
    # 28 -> conv3 26 -> pool 13 -> conv3 11 -> pool 5: 26*26*9*1*32 + 11*11*9*32*64, then 5*5*64 -> 10
    assert costs.multiply_adds(cnn) == (5 * 5 * 64 * 10, 26 * 26 * 9 * 32 + 11 * 11 * 9 * 32 * 64)


def specs_from_models():
    from actbench.config import ExperimentConfig

    config = ExperimentConfig(name="m", datasets=["mnist"], models=["mlp", "cnn"], hidden_activations=["relu"])
    return expand_runs(config, {"mnist": "full"})


def test_image_counts_follow_source_limits_and_validation_split(tmp_path):
    (full,) = specs(tmp_path, "hidden_activations: [relu]\n")
    (small,) = specs(
        tmp_path, "hidden_activations: [relu]\ndata: {limit_train: 1000, limit_test: 300}\n", source="sample"
    )
    assert costs.image_counts(full.model_dump(mode="json")) == (54000, 6000, 10000)
    assert costs.image_counts(small.model_dump(mode="json")) == (900, 100, 300)


def test_recorded_runs_of_the_same_shape_come_before_the_model(tmp_path):
    results = tmp_path / "results"
    relu, _tanh = specs(tmp_path, "hidden_activations: [relu, tanh]\ntraining: {epochs: 2}\n")
    record(results, relu, wall=40.0, train_seconds=35.0)
    longer, other, cnn = specs(tmp_path, "hidden_activations: [relu, elu]\ntraining: {epochs: 4}\n") + specs(
        tmp_path, "models: [cnn]\nhidden_activations: [relu]\n"
    )
    estimates = costs.estimate_runs([relu, longer, other, cnn], results)
    assert estimates[0] == costs.Estimate(pytest.approx(40.0), "recorded")
    # Twice the epochs: the fixed part once, the rest scaled by the image passes (validation and test count a third).
    dumped = relu.model_dump(mode="json")
    ratio = costs.work(longer.model_dump(mode="json")) / costs.work(dumped)
    assert 1.9 < ratio < 2.0
    assert estimates[1].seconds == pytest.approx(costs.MEASURED.per_run + (40.0 - costs.MEASURED.per_run) * ratio)
    assert estimates[2].basis == "other activation"
    assert estimates[3] == costs.Estimate(pytest.approx(costs.model_seconds(cnn.model_dump(mode="json"))), "model")


def test_runs_recorded_without_their_wall_time_count_training_time_and_the_fixed_part(tmp_path):
    results = tmp_path / "results"
    (relu,) = specs(tmp_path, "hidden_activations: [relu]\n")
    record(results, relu, wall=None, train_seconds=30.0)
    assert costs.estimate_runs([relu], results)[0].seconds == pytest.approx(30.0 + costs.MEASURED.per_run)


def test_the_cost_model_orders_models_by_their_work(tmp_path):
    mlp, cnn = (costs.model_seconds(s.model_dump(mode="json")) for s in specs_from_models())
    assert 5 < mlp < 60 and cnn > 4 * mlp  # the convnet does 20 times the multiply-adds per image
    assert (
        costs.format_seconds(42) == "42s"
        and costs.format_seconds(600) == "10m"
        and costs.format_seconds(12600) == "3.5h"
    )


def test_dry_run_prints_each_runs_estimate_and_the_total_with_its_basis(tiny_config, tmp_path):
    results = tmp_path / "results"
    outcome = CliRunner().invoke(app, ["run", str(tiny_config), "--results-dir", str(results), "--dry-run"])
    assert outcome.exit_code == 0
    lines = outcome.output.splitlines()
    assert sum(" todo " in line and "~" in line for line in lines) == 2
    assert lines[-1].startswith("estimated ") and "(2 from the cost model for 2 CPU cores)" in lines[-1]
    assert (
        CliRunner()
        .invoke(app, ["run", str(tiny_config), "--results-dir", str(results), "--set", "hidden_activations=[relu]"])
        .exit_code
        == 0
    )
    after = (
        CliRunner()
        .invoke(app, ["run", str(tiny_config), "--results-dir", str(results), "--dry-run", "--seeds", "2"])
        .output
    )
    assert (
        "(1 from recorded runs of the same shape, 2 from recorded runs with another activation)"
        in after.splitlines()[-1]
    )


def test_with_early_stopping_epochs_are_a_most_and_a_recorded_run_counts_the_epochs_it_ran(tmp_path):
    results = tmp_path / "results"
    (stopping,) = specs(tmp_path, "hidden_activations: [relu]\ntraining: {epochs: 10, early_stopping: {patience: 1}}\n")
    (seed_1,) = specs(
        tmp_path, "hidden_activations: [relu]\nseeds: [1]\ntraining: {epochs: 10, early_stopping: {patience: 1}}\n"
    )
    record(results, stopping, wall=20.0, train_seconds=18.0, epochs_run=5)  # stopped after 5 of its 10 epochs
    estimate = costs.estimate_runs([seed_1], results)[0]
    dumped = seed_1.model_dump(mode="json")
    fit, validation, test = costs.image_counts(dumped)
    ratio = costs.work(dumped) / costs.work(dumped, fit + validation, test, epochs=5)
    assert 1.9 < ratio < 2.0 and estimate.at_most and estimate.basis == "recorded"
    assert estimate.seconds == pytest.approx(costs.MEASURED.per_run + (20.0 - costs.MEASURED.per_run) * ratio)
    line = costs.describe_estimates([estimate, costs.Estimate(5.0, "model")])
    assert line.startswith("estimated at most ") and "early stopping may end 1 of them sooner" in line
    assert costs.describe_estimates([costs.Estimate(5.0, "model")]).startswith("estimated 5s ")
