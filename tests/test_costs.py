"""Cost estimates: multiply-adds, recorded runs of the same shape before the cost model, the dry run's line."""

import pytest
from typer.testing import CliRunner

from actbench import costs
from actbench.cli import app
from actbench.config import expand_runs, load_config, run_id, run_sizes
from actbench.packing import use_xla
from actbench.results import RunOutputs, RunRecord, run_files, save_record
from helpers import write_config


def specs(tmp_path, text: str, source: str = "full"):
    return expand_runs(
        load_config(write_config(tmp_path, "name: costs\ndatasets: [mnist]\n" + text, "costs.yaml")), {"mnist": source}
    )


def record(results, spec, wall: float | None, train_seconds: float, epochs_run: int | None = None) -> None:
    """A finished run through actbench's writer, with the wall time the runner records (None: an older run without it)."""
    sizes = run_sizes(spec)
    fit, validation, test = sizes.train, sizes.validation, sizes.test
    metrics = {"train_seconds": train_seconds, "n_train": fit, "n_val": validation, "n_test": test}
    metrics["pack_xla"] = use_xla([spec], fit)  # as a run alone records it: its steps compiled by XLA or not
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
    assert [(s.train, s.validation, s.test) for s in map(run_sizes, (full, small))] == [
        (54000, 6000, 10000),
        (900, 100, 300),
    ]
    assert run_sizes(full).steps_per_epoch == 422 and run_sizes(full).image_shape == (28, 28)


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
    # Its 1,688 steps are compiled by XLA, the recorded run's 844 were not: XLA's share of the rest too.
    from actbench.resources import threads_per_worker

    assert use_xla([longer], 54000) and not use_xla([relu], 54000)
    alone = costs.model_seconds(longer.model_dump(mode="json"))
    factor = costs.pack_factor(1, alone, xla_threads=threads_per_worker(1))
    assert estimates[1].seconds == pytest.approx(
        factor * (costs.MEASURED.per_run + (40.0 - costs.MEASURED.per_run) * ratio)
    )
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
    sizes = run_sizes(dumped)
    fit, validation, test = sizes.train, sizes.validation, sizes.test
    ratio = costs.work(dumped) / costs.work(dumped, fit + validation, test, epochs=5)
    assert 1.9 < ratio < 2.0 and estimate.at_most and estimate.basis == "recorded"
    # Both compiled by XLA: the recorded time as alone (over the factor), rescaled, at the factor again.
    from actbench.resources import threads_per_worker

    factor = costs.pack_factor(1, costs.model_seconds(dumped), xla_threads=threads_per_worker(1))
    fixed = costs.MEASURED.per_run
    assert estimate.seconds == pytest.approx(factor * (fixed + (20.0 / factor - fixed) * ratio))
    line = costs.SweepEstimate([[estimate], [costs.Estimate(5.0, "model")]], 1).describe()
    assert line.startswith("estimated at most ") and "early stopping may end 1 of them sooner" in line
    assert costs.SweepEstimate([[costs.Estimate(5.0, "model")]], 1).describe().startswith("estimated 5s ")


def record_pack(results, specs, per_run: float) -> None:
    """Finished runs recorded as one pack writes them: each with its share of the pack's wall time."""
    for spec in specs:
        sizes = run_sizes(spec)
        fit, validation, test = sizes.train, sizes.validation, sizes.test
        metrics = {
            "train_seconds": per_run,
            "n_train": fit,
            "n_val": validation,
            "n_test": test,
            "run_seconds": per_run,
            "pack_size": len(specs),
            "pack_seconds": per_run * len(specs),
        }
        save_record(
            results / spec.experiment,
            spec.as_json(),
            RunRecord(run_id(spec), "finished", metrics, run_files(RunOutputs())),
        )


EIGHT = "hidden_activations: [relu, tanh, elu, selu]\nseeds: 2\n"
# 2 epochs of the full MNIST, 844 steps: under packing.XLA_MIN_STEPS, so no pack of these is compiled by XLA.
SHORT = "training: {epochs: 2}\n"


def test_a_recorded_pack_predicts_a_pack_of_its_size_and_runs_alone_pay_their_fixed_cost(tmp_path):
    results = tmp_path / "results"
    recorded = specs(tmp_path, EIGHT + SHORT)
    record_pack(results, recorded, per_run=3.0)
    planned = specs(tmp_path, EIGHT.replace("seeds: 2", "seeds: [5, 6]") + SHORT)  # new runs of the same shapes
    packed = costs.estimate_sweep([planned], results).packs[0]
    assert [e.seconds for e in packed] == pytest.approx([3.0] * 8) and {e.basis for e in packed} == {"recorded"}
    # The same runs one at a time (--pack off) cost what they cost alone: more than the pack's 3 s a run.
    alone = costs.model_seconds(planned[0].model_dump(mode="json"))
    factor = {size: costs.pack_factor(size, alone) for size in (1, 4, 8)}
    assert factor[1] == 1.0 and max(factor[4], factor[8]) < 0.9
    estimates = costs.estimate_runs(planned, results)
    assert [e.seconds for e in estimates] == pytest.approx([3.0 / factor[8]] * 8)
    # A pack of another size: the recorded pack moved to it by the ratio of their factors.
    (four, _) = costs.estimate_sweep([planned[:4], planned[4:]], results).packs
    assert four[0].seconds == pytest.approx(3.0 * factor[4] / factor[8])
    # And runs recorded alone come first for runs planned alone, whatever packs were recorded too.
    record(results, planned[0], wall=9.0, train_seconds=8.0)
    assert costs.estimate_runs(planned[:1], results)[0].seconds == pytest.approx(9.0)


def test_without_recorded_runs_a_pack_saves_a_share_of_each_runs_fixed_cost(tmp_path):
    small, large = (
        specs(tmp_path, EIGHT + SHORT + f"data: {{limit_train: {n}}}\n", source="full") for n in (2000, 60000)
    )
    for planned in (small, large):
        alone = costs.model_seconds(planned[0].model_dump(mode="json"))
        estimate = costs.estimate_sweep([planned], tmp_path / "nothing").packs[0][0]
        saved = (1 - costs.fixed_share(8)) * costs.MEASURED.per_run
        assert estimate == costs.Estimate(pytest.approx(alone - saved), "model")
    # The same seconds saved weigh more on a small run than on a large one.
    factors = [costs.pack_factor(8, costs.model_seconds(p[0].model_dump(mode="json"))) for p in (small, large)]
    assert factors[0] < factors[1] < 1.0
    # Between measured sizes the share lies between theirs; beyond the largest, the largest's holds.
    low, high = sorted([costs.PACK_FIXED_SHARE[2], costs.PACK_FIXED_SHARE[4]])
    assert low <= costs.fixed_share(3) <= high
    assert costs.fixed_share(16) == costs.PACK_FIXED_SHARE[max(costs.PACK_FIXED_SHARE)]


def test_a_pack_xla_compiles_costs_less_per_image_too(tmp_path):
    from actbench.resources import cpu_count

    # 5 epochs of the full MNIST (2,110 steps): an MLP pack without dropout is compiled by XLA.
    xla, plain = (specs(tmp_path, EIGHT + f"models: [{{type: mlp, dropout: {d}}}]\n") for d in (0.0, 0.2))
    assert use_xla(xla[:1], 54000) and not use_xla(plain[:1], 54000)
    alone = costs.model_seconds(xla[0].model_dump(mode="json"))
    fixed, rest = costs.MEASURED.per_run, alone - costs.MEASURED.per_run
    for threads, share in costs.XLA_STEP_SHARE.items():
        expected = (costs.fixed_share(4) * fixed + share * rest) / alone
        assert costs.pack_factor(4, alone, xla_threads=threads) == pytest.approx(expected)
    assert costs.pack_factor(1, alone) == 1.0 and costs.pack_factor(1, alone, xla_threads=2) < 0.5  # alone: XLA too
    nothing = tmp_path / "nothing"
    packed, dropout = (costs.estimate_sweep([runs[:4]], nothing).packs[0][0].seconds for runs in (xla, plain))
    threads = min(cpu_count(), 2)  # one pack at a time: all the cores
    assert packed == pytest.approx(alone * costs.pack_factor(4, alone, xla_threads=threads))
    plain_alone = costs.model_seconds(plain[0].model_dump(mode="json"))
    assert dropout == pytest.approx(plain_alone * costs.pack_factor(4, plain_alone))
    assert packed < 0.5 * dropout
    assert costs.estimate_runs(xla[:1], nothing)[0].seconds == pytest.approx(  # --pack off: a pack of one
        alone * costs.pack_factor(1, alone, xla_threads=threads)
    )


def test_the_total_is_the_packs_handed_to_the_first_free_worker():
    assert costs.makespan([10.0, 10.0, 10.0], 1) == 30.0
    assert costs.makespan([10.0, 10.0, 10.0], 2) == 20.0
    assert costs.makespan([5.0, 10.0], 2, busy=[8.0]) == 15.0  # 5 s on the idle worker, then 10 s after it
    estimate = costs.SweepEstimate([[costs.Estimate(4.0, "model")] * 2, [costs.Estimate(6.0, "model")]], 1)
    assert estimate.pack_seconds == [8.0, 6.0] and estimate.total == 14.0


@pytest.mark.parametrize("workers", ["1", "2"])
def test_the_dry_runs_total_is_the_sum_of_its_packs_estimates(workers, tmp_path):
    from actbench.planning import estimate_plan, plan_runs

    config = load_config(
        write_config(
            tmp_path, "name: costs\ndatasets: [mnist]\ndata: {source: sample}\nmodels: [mlp, cnn]\n" + EIGHT, "c.yaml"
        )
    )
    planned, _ = plan_runs(config, tmp_path / "results", None)
    grouped, estimate = estimate_plan(planned, tmp_path / "results", "auto", int(workers))
    # One worker: a seed's four activations a pack, the same structure twice (compiled once); two: a
    # pack per worker at a time (packing._cut).
    assert [len(runs) for runs in grouped] == [4, 4, 4, 4]
    seconds = estimate.pack_seconds
    assert estimate.total == pytest.approx(sum(seconds) if workers == "1" else costs.makespan(seconds, 2))
    assert estimate.total < sum(seconds) or workers == "1"
    outcome = CliRunner().invoke(
        app,
        [
            "run",
            str(tmp_path / "c.yaml"),
            "--results-dir",
            str(tmp_path / "results"),
            "--dry-run",
            "--workers",
            workers,
        ],
    )
    assert outcome.exit_code == 0, outcome.output
    lines = outcome.output.splitlines()
    packs = [line for line in lines if line.startswith("  pack ")]
    assert [line.split("~")[1].split()[0] for line in packs] == [costs.format_seconds(s) for s in seconds]
    assert lines[-1].startswith(f"estimated {costs.format_seconds(estimate.total)} for the runs to do")
    assert ("2 packs at a time" in lines[-1]) == (workers == "2")


def test_an_estimate_splits_into_the_phases_a_run_passes(tmp_path):
    # The live display's clock follows a run through them: building and tracing, its epochs, testing.
    (few,) = specs(tmp_path, "hidden_activations: [relu]\ntraining: {epochs: 2}\ndata: {limit_train: 2000}\n")
    (many,) = specs(tmp_path, "hidden_activations: [relu]\ntraining: {epochs: 8}\ndata: {limit_train: 2000}\n")
    for spec, pack_size in ((few, 1), (few, 6), (many, 6)):
        phases = costs.phases(spec, 12.0, pack_size)
        assert phases.total == pytest.approx(12.0) and phases.epochs == spec.training.epochs
    alone, packed = costs.phases(few, 12.0, 1), costs.phases(few, 12.0, 6)
    assert packed.before / packed.total < alone.before / alone.total  # a pack pays less of the fixed part each
    # Testing 10,000 images at a third of a trained image's cost, against 2 epochs of 1,800 trained and
    # 200 validation images and their compiled calls: in the cost model's proportions.
    dumped = few.model_dump(mode="json")
    testing = run_sizes(dumped).test * costs.FORWARD_SHARE * costs.image_seconds(dumped)
    epochs = costs.model_seconds(dumped) - costs.MEASURED.per_run - testing
    assert alone.after / alone.epoch == pytest.approx(testing / (epochs / 2))
    assert alone.after > alone.epoch  # (--limit-train with the whole test set: testing is no afterthought)
    assert costs.phases(many, 12.0, 6).epoch < packed.epoch  # more epochs share the same seconds
    pack = packed + packed  # a pack's phases: its runs' together, on their shared epochs
    assert (pack.total, pack.epochs) == (pytest.approx(24.0), 2)
