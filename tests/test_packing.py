"""Packed training gives each run the numbers Keras' own fit gives it alone: one step's weights, a short
sweep's test results; a run alone (a pack of one) is held to the same."""

import dataclasses

import numpy as np
import pytest
from helpers_keras import initial_weights, keras_fit, keras_weights, trained_alone

from actbench import packing
from actbench.config import expand_runs, load_config, parse_set
from actbench.context import TrainingContext
from actbench.datasets import load_dataset, split_dataset
from actbench.datasets.cache import DataRequest
from actbench.errors import ActbenchError
from actbench.training import train_pack, train_runs
from helpers import invoke, write_config

MLP = "[{type: mlp, hidden_units: [32, 16]}]"
MLP_DROPOUT = "[{type: mlp, hidden_units: [32, 16], dropout: 0.3}]"
CNN = "[{type: cnn, filters: [4, 8], dense_units: [16], dropout: 0.0}]"
CNN_DROPOUT = "[{type: cnn, filters: [4, 8], dense_units: [16], dropout: 0.5}]"
ACTIVATIONS = "[relu, prelu, {name: leaky_relu, alpha: 0.2}, 'helpers_activations:scaled_tanh']"


def specs_for(tmp_path, **overrides):
    text = """
    name: t
    datasets: [mnist]
    data: {source: sample, limit_train: 400, limit_test: 200}
    hidden_activations: [relu]
    training: {epochs: 1, batch_size: 32}
    """
    config = load_config(write_config(tmp_path, text), [parse_set(f"{k}={v}") for k, v in overrides.items()])
    return expand_runs(config, {"mnist": "sample"})


@pytest.fixture(scope="module")
def data():
    return split_dataset(load_dataset("mnist", "sample"), 400, 200, 0.1)


def pack_of(specs, data, context=None):
    """The pack trained (training.train_pack) in a context of its own unless given."""
    return train_pack(specs, data, context or TrainingContext(DataRequest("sample")))


# The two variants between the default ones are under `slow` (about 20 s each), for the suite's time.
@pytest.mark.parametrize(
    "models, images, xla",
    [
        (MLP, 32, False),
        (MLP, 64, True),
        pytest.param(CNN, 32, False, marks=pytest.mark.slow),
        pytest.param(MLP_DROPOUT, 64, False, marks=pytest.mark.slow),
        pytest.param(MLP_DROPOUT, 64, True, marks=pytest.mark.slow),  # dropout: never XLA (other masks)
        pytest.param(
            CNN_DROPOUT, 64, False, marks=pytest.mark.slow
        ),  # the default suite's 5 minutes: CI runs it with -m slow
    ],
    ids=["mlp", "mlp-xla-2-steps", "cnn", "mlp-dropout-2-steps", "mlp-dropout-xla-2-steps", "cnn-dropout-2-steps"],
)
def test_packed_steps_give_each_model_the_weights_it_gets_alone(tmp_path, data, monkeypatch, models, images, xla):
    # Batches of 32 images: one optimizer step per run, or two (the second with fresh dropout masks).
    # XLA compiles a pack's steps once a pack trains long enough (packing.XLA_MIN_STEPS); here from the first.
    monkeypatch.setattr(packing, "XLA_MIN_STEPS", 0 if xla else 10**9)
    few = dataclasses.replace(data, x_train=data.x_train[:images], y_train=data.y_train[:images])
    grid = specs_for(tmp_path, models=models, hidden_activations=ACTIVATIONS, seeds="[0, 1]")
    # relu seed 0, prelu seed 1, leaky_relu(0.2) seed 1, the custom function seed 0: each activation
    # with a seed, two of one seed, and the pack holds both seeds.
    specs = [grid[i] for i in (0, 3, 5, 6)]
    assert [s.seed for s in specs] == [0, 1, 1, 0]
    trained = pack_of(specs, few)
    assert trained.trainer.jit is (xla and models != MLP_DROPOUT)
    packed = [m.model.get_weights() for m in trained.members]
    for spec, weights in zip(specs, packed):
        initial = initial_weights(spec, few)
        alone = keras_weights(spec, few)
        assert len(weights) == len(alone)
        for before, mine, theirs in zip(initial, weights, alone):
            assert not np.array_equal(mine, before) or before.size == 1  # the step did move it
            np.testing.assert_allclose(mine, theirs, atol=2e-6, rtol=1e-5)


@pytest.mark.parametrize("xla", [False, True], ids=["steps", "xla-steps"])
def test_a_run_alone_is_a_pack_of_one_with_the_weights_keras_fit_gives_it(tmp_path, data, monkeypatch, xla):
    # actbench trains every run as a pack; alone, a pack of one. Three epochs of 3 batches, the last
    # batch of each epoch smaller (80 images in batches of 32).
    monkeypatch.setattr(packing, "XLA_MIN_STEPS", 0 if xla else 10**9)
    few = dataclasses.replace(data, x_train=data.x_train[:80], y_train=data.y_train[:80])
    [spec] = specs_for(tmp_path, models=MLP, hidden_activations="[selu]", training="{epochs: 3, batch_size: 32}")
    trained = pack_of([spec], few)
    [member] = trained.members
    assert trained.trainer.jit is xla and [row["epoch"] for row in member.history] == [1, 2, 3]
    run, history = keras_fit(spec, few)
    for mine, theirs in zip(member.model.get_weights(), run.model.get_weights()):
        np.testing.assert_allclose(mine, theirs, atol=1e-5, rtol=1e-4)
    for mine, theirs in zip(member.history, history):
        for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
            assert mine[key] == pytest.approx(theirs[key], rel=1e-4, abs=1e-5), key


def test_a_pack_trained_on_a_kept_trainer_gets_the_numbers_of_a_fresh_one(tmp_path, data, monkeypatch):
    # Two packs of one structure (the same activations in order, other seeds): the second trains on
    # the first's trainer, its steps traced and compiled once, and ends with the weights a fresh
    # trainer gives it, which are those of each run alone. 80 images in batches of 32: the third
    # batch's 16 images are padded to 32 (one compiled shape), and the padding weighs nothing.
    monkeypatch.setattr(packing, "XLA_MIN_STEPS", 0)
    context = TrainingContext(DataRequest("sample"))
    few = dataclasses.replace(data, x_train=data.x_train[:80], y_train=data.y_train[:80])
    grid = specs_for(tmp_path, models=MLP, hidden_activations="[relu, prelu]", seeds="[0, 1]")
    first, second = [grid[0], grid[2]], [grid[1], grid[3]]
    assert [(s.hidden_activation.name, s.seed) for s in first + second] == [
        ("relu", 0),
        ("prelu", 0),
        ("relu", 1),
        ("prelu", 1),
    ]
    trainer = pack_of(first, few, context).trainer
    steps = trainer._steps_of((0, 1))
    trained = pack_of(second, few, context)
    assert trained.trainer is trainer and steps.experimental_get_tracing_count() == 1 and trainer.jit
    kept = [m.model.get_weights() for m in trained.members]
    fresh = pack_of(second, few)  # a context of its own: a trainer of its own
    assert fresh.trainer is not trainer
    for spec, mine, theirs in zip(second, kept, [m.model.get_weights() for m in fresh.members]):
        for a, b in zip(mine, theirs):
            np.testing.assert_array_equal(a, b)
        for a, alone in zip(mine, keras_weights(spec, few)):
            np.testing.assert_allclose(a, alone, atol=2e-6, rtol=1e-5)
    context.close()
    assert context.kept_trainer(trainer.structure, few.x_train) is None  # closed: nothing kept


@pytest.mark.slow
def test_a_pack_xla_cannot_compile_trains_without_it(tmp_path, data, monkeypatch):
    monkeypatch.setattr(packing, "XLA_MIN_STEPS", 0)
    few = dataclasses.replace(data, x_train=data.x_train[:32], y_train=data.y_train[:32])
    specs = specs_for(tmp_path, models=MLP, hidden_activations="[relu, 'helpers_activations:numpy_relu']")
    trained = pack_of(specs, few)
    assert not trained.trainer.jit
    for spec, member in zip(specs, trained.members):
        for mine, theirs in zip(member.model.get_weights(), keras_weights(spec, few)):
            np.testing.assert_allclose(mine, theirs, atol=2e-6, rtol=1e-5)


@pytest.mark.slow
def test_a_model_that_diverges_leaves_the_pack_and_the_others_train_on_as_alone(tmp_path, data):
    specs = specs_for(tmp_path, models=MLP, hidden_activations="[relu, 'helpers_activations:overflow']", seeds="[3]")
    epochs = []
    with TrainingContext(DataRequest("sample")) as context:
        results = train_runs(specs, data, context, on_epoch=lambda member, epoch, row: epochs.append((member, epoch)))
    assert [r.status for r in results] == ["finished", "diverged"]
    assert results[1].metrics["test_accuracy"] is None and results[1].outputs.test is None
    assert epochs == [(0, 1), (1, 1)]
    alone = trained_alone(specs[0], data)
    assert results[0].metrics["test_accuracy"] == pytest.approx(alone.metrics["test_accuracy"], abs=0.006)
    # Each run's own seconds, which together are the pack's training seconds.
    assert sum(r.metrics["train_seconds"] for r in results) == pytest.approx(
        results[0].metrics["pack_train_seconds"], abs=1e-3
    )
    assert trained_alone(specs[1], data).status == "diverged"  # as it is alone
    _, history = keras_fit(specs[1], data)
    assert not history or not np.isfinite(history[-1]["loss"])  # Keras' fit stops it too


def sweep_both_ways(tmp_path, models, activations, seeds="[0, 1]"):
    """The same 1-epoch sweep packed and with --pack off: each run's (test accuracy, predicted classes, metrics) both ways."""
    from actbench import results
    from actbench.sweep import run_sweep

    text = f"""
    name: both
    datasets: [mnist]
    data: {{source: sample, limit_train: 1000, limit_test: 500}}
    models: {models}
    hidden_activations: {activations}
    training: {{epochs: 1, batch_size: 64}}
    seeds: {seeds}
    """
    config = load_config(write_config(tmp_path, text))
    outcome = {}
    for pack in ("off", "auto"):
        root = tmp_path / pack
        summary = run_sweep(config, root, pack=pack)
        assert summary.counts["finished"] == len(config.hidden_activations) * len(config.seeds)
        for run in results.run_directories(root / "both"):
            probabilities, _, _ = results.read_predictions(run)
            outcome.setdefault(run.name, {})[pack] = (results.read_metrics(run), probabilities.argmax(axis=1))
    return outcome


def assert_same_runs(outcome, pack_sizes, xla=False):
    for run_id, ways in outcome.items():
        (alone, alone_classes), (packed, packed_classes) = ways["off"], ways["auto"]
        assert alone["pack_size"] == 1 and packed["pack_size"] in pack_sizes
        assert packed["pack_xla"] is xla
        assert abs(packed["test_accuracy"] - alone["test_accuracy"]) <= 0.003, run_id  # 0.3 points
        assert (packed_classes == alone_classes).mean() >= 0.98, run_id


@pytest.mark.parametrize(
    "models",
    [
        pytest.param(MLP, marks=pytest.mark.slow),
        pytest.param(MLP_DROPOUT, marks=pytest.mark.slow),  # the default suite keeps the one-step weights
        pytest.param(CNN, marks=pytest.mark.slow),
        pytest.param(CNN_DROPOUT, marks=pytest.mark.slow),
    ],
    ids=["mlp", "mlp-dropout", "cnn", "cnn-dropout"],
)
def test_a_packed_sweep_gives_each_run_the_test_results_it_gets_alone(tmp_path, models):
    activations = "[relu, prelu, 'helpers_activations:scaled_tanh']"
    # Two packs of the three activations, a seed each: the second (but with dropout) trains on the
    # first's kept trainer. Packs holding several seeds: the one-step test above.
    assert_same_runs(sweep_both_ways(tmp_path, models, activations), pack_sizes={3})


@pytest.mark.slow
@pytest.mark.parametrize("models, xla", [(MLP, True), (CNN_DROPOUT, False)], ids=["mlp-xla", "cnn-dropout"])
def test_every_catalogue_activation_packed_gives_the_results_it_gets_alone(tmp_path, monkeypatch, models, xla):
    from actbench.activations import CATALOGUE

    # The MLP's packs compiled by XLA (as long MLP packs without dropout are), the CNN's not (nor any
    # with dropout): every activation both ways.
    monkeypatch.setattr(packing, "XLA_MIN_STEPS", 0 if xla else 10**9)
    # 17 activations, one seed (the sweeps above pack across seeds): at most 8 a pack, so 6 + 6 + 5.
    outcome = sweep_both_ways(tmp_path, models, f"[{', '.join(CATALOGUE)}]", seeds="[0]")
    assert_same_runs(outcome, pack_sizes={5, 6}, xla=xla)


def test_runs_pack_across_what_each_model_holds_itself(tmp_path):
    specs = specs_for(
        tmp_path,
        models="[{type: mlp, hidden_units: [16]}, {type: mlp, hidden_units: [16], dropout: 0.2}]",
        hidden_activations="[relu, tanh, selu]",
        seeds="[0, 1, 2]",
    )
    assert {s.model.initializer for s in specs} == {"he_normal", "glorot_uniform", "lecun_normal"}
    # Activation, initializer, seed and dropout are each model's own: the 18 runs have one pack key.
    assert len({packing.pack_key(s) for s in specs}) == 1
    cut = packing.plan_packs(specs, 4, 2, lambda s: s)  # --pack 4: as few packs of at most 4 as can be
    assert [len(p) for p in cut] == [4, 4, 4, 3, 3]
    assert sorted(id(s) for p in cut for s in p) == sorted(map(id, specs))  # every run once
    assert [len(p) for p in packing.plan_packs(specs, "off", 1, lambda s: s)] == [1] * 18

    def named(packs):
        return [[(s.hidden_activation.name, s.model.dropout, s.seed) for s in p] for p in packs]

    # Packs are blocks of activations by blocks of seeds, so a structure (the members in order) repeats
    # and a process compiles its steps once. One at a time: a seed each, the same six members.
    serial = named(packing.plan_packs(specs, "auto", 1, lambda s: s))
    members = [(a, d) for d in (0.0, 0.2) for a in ("relu", "tanh", "selu")]
    assert serial == [[(a, d, seed) for a, d in members] for seed in (0, 1, 2)]
    # Three workers: three packs of 6, none idles; two: six packs of 3, three for each worker.
    assert [len(p) for p in packing.plan_packs(specs, "auto", 3, lambda s: s)] == [6] * 3
    two = named(packing.plan_packs(specs, "auto", 2, lambda s: s))
    assert [len(p) for p in two] == [3] * 6
    assert two[0] == [("relu", 0.0, 0), ("tanh", 0.0, 0), ("selu", 0.0, 0)]
    with pytest.raises(ActbenchError, match="--pack '0'"):
        packing.pack_setting("0")
    with pytest.raises(ActbenchError, match="pack=0: give auto, off"):
        packing.pack_setting(0, "pack")
    assert [packing.pack_setting(text) for text in ("auto", "off", "4")] == ["auto", "off", 4]


def test_pack_option_is_checked_and_a_dry_run_lists_the_packs(tiny_config, tmp_path):
    bad = invoke("run", tiny_config, "--pack", "many", "--dry-run", "--results-dir", tmp_path / "r")
    assert bad.exit_code == 2 and "--pack 'many': give auto, off or the most runs" in bad.output
    assert "Traceback" not in bad.output
    listed = invoke("run", tiny_config, "--dry-run", "--results-dir", tmp_path / "r")
    assert listed.exit_code == 0 and "1 pack (--pack auto, 1 at once):" in listed.output
    assert "pack 1: 2 runs" in listed.output
    assert (
        "packs" not in invoke("run", tiny_config, "--dry-run", "--pack", "off", "--results-dir", tmp_path / "r").output
    )


@pytest.mark.slow
def test_diagnostics_of_a_packed_run_are_those_it_gets_alone(tmp_path, data):
    specs = specs_for(tmp_path, models=MLP, hidden_activations="[relu, tanh]", diagnostics="true")
    with TrainingContext(DataRequest("sample")) as context:
        packed = train_runs(specs, data, context)
    for spec, result in zip(specs, packed):
        run, _ = keras_fit(spec, data)
        mine, theirs = result.outputs.diagnostics, run.probe.rows
        assert [(r["epoch"], r["layer"]) for r in mine] == [(r["epoch"], r["layer"]) for r in theirs]
        for row, other in zip(mine, theirs):  # the same weights at every epoch: equal to rounding
            assert row["grad_norm"] == pytest.approx(other["grad_norm"], rel=1e-3, abs=1e-6)
        assert set(result.outputs.histograms) == set(run.probe.histograms)
        assert result.metrics["probe_size"] == len(run.probe.x)


def test_each_packed_run_records_its_own_training_time(tmp_path, data):
    # A deliberately slow activation beside ReLU in one pack: the pack's epochs are shared by what each
    # kind of step costs alone, so the slow run records the larger time, and the two add up to the pack's.
    specs = specs_for(
        tmp_path,
        models="[{type: mlp, hidden_units: [128]}]",
        hidden_activations="[relu, 'helpers_activations:slow_relu']",
        training="{epochs: 2, batch_size: 32}",
    )
    with TrainingContext(DataRequest("sample")) as context:
        relu, slow = train_runs(specs, data, context)
    assert slow.metrics["train_seconds"] > 2 * relu.metrics["train_seconds"]
    total = relu.metrics["train_seconds"] + slow.metrics["train_seconds"]
    assert total == pytest.approx(relu.metrics["pack_train_seconds"], abs=1e-3)
    assert relu.metrics["pack_share_seconds"] == pytest.approx(total / 2, abs=1e-3)
    rows = [sum(row["seconds"] for row in run.outputs.history) for run in (relu, slow)]
    assert rows == pytest.approx([relu.metrics["train_seconds"], slow.metrics["train_seconds"]], abs=1e-3)
