"""The training settings of a reviewer's checklist: batch normalisation, dropout's kind, L2 and weight decay,
momentum, learning-rate schedules, early stopping and input preprocessing. Each is part of the run's
identity (and left out of the spec at its default, so earlier runs keep their ids), checked with a
one-line error, recorded, and trained the same packed as alone."""

import dataclasses
import re

import numpy as np
import pytest
import tensorflow as tf
from helpers_keras import initial_weights, keras_fit, keras_weights

from actbench import packing, results
from actbench.config import RunSpec, expand_runs, group_id, load_config, parse_set, run_id
from actbench.config.schema import CNNSpec, EarlyStopping, MLPSpec, TrainingSpec
from actbench.context import TrainingContext
from actbench.datasets import load_dataset, split_dataset
from actbench.datasets.cache import DataRequest
from actbench.results.table import flatten_run
from actbench.training import train_pack, train_runs
from helpers import REPO, invoke, write_config

BASE = """
name: t
datasets: [mnist]
data: {source: sample, limit_train: 400, limit_test: 200}
models: [{type: mlp, hidden_units: [32, 16]}]
hidden_activations: [relu, tanh]
training: {epochs: 1, batch_size: 32}
"""

# One value away from the default for each setting: (override, results.csv column, its value there).
SETTINGS = [
    ("models=[{type: mlp, hidden_units: [32, 16], batch_norm: before}]", "model.batch_norm", "before"),
    ("models=[{type: mlp, hidden_units: [32, 16], dropout: 0.2, dropout_kind: alpha}]", "model.dropout_kind", "alpha"),
    ("training.l2=0.001", "training.l2", 0.001),
    ("training.weight_decay=0.01", "training.weight_decay", 0.01),
    ("training.optimizer=sgd training.momentum=0.9 training.nesterov=true", "training.nesterov", True),
    ("training.schedule=cosine", "training.schedule", "cosine(alpha=0.0)"),
    ("training.schedule={name: step, every: 2, factor: 0.1}", "training.schedule", "step(every=2, factor=0.1)"),
    (
        "training.early_stopping={patience: 2}",
        "training.early_stopping",
        "val_loss(min_delta=0.0, patience=2, restore_best=true)",
    ),
    ("data.preprocessing=standardize", "preprocessing", "standardize"),
    ("data.preprocessing=center", "preprocessing", "center"),
]


def split(overrides):
    """'a.b=1 c={d: 2, e: 3}' -> ['a.b=1', 'c={d: 2, e: 3}']: a space starts the next only before 'key='."""
    return re.split(r" (?=[a-z0-9_.]+=)", overrides)


def specs_for(tmp_path, *overrides, text=BASE):
    config = load_config(write_config(tmp_path, text), [parse_set(o) for item in overrides for o in split(item)])
    return expand_runs(config, {"mnist": "sample"})


@pytest.fixture(scope="module")
def data():
    return split_dataset(load_dataset("mnist", "sample"), 400, 200, 0.1)


def test_runs_at_the_defaults_keep_the_ids_they_had_before_the_settings_existed():
    # The README's run excerpt was printed by the code before these settings: its first run's id is
    # what the same run gets now.
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "actbench run configs/relu_vs_sigmoid.yaml --source sample --epochs 2 --limit-train 2000 " in readme
    shown = re.search(r"\[1/12\] ([0-9a-f]{12}) mnist/sample mlp relu -> softmax seed=0", readme).group(1)
    sets = ("data.source=sample", "training.epochs=2", "data.limit_train=2000")
    config = load_config(REPO / "configs/relu_vs_sigmoid.yaml", [parse_set(s) for s in sets])
    spec = expand_runs(config, {"mnist": "sample"})[0]
    assert run_id(spec) == shown
    dumped = spec.as_json()
    for section, model in (("model", MLPSpec), ("training", TrainingSpec), (None, RunSpec)):
        keys = dumped[section] if section else dumped
        assert model.LATER and not set(model.LATER) & set(keys)  # left out at their defaults
    assert RunSpec.model_validate(dumped).as_json() == dumped  # a spec.json read back is the same run


@pytest.mark.parametrize(
    "override, column, value", SETTINGS, ids=[s[0].split("=")[0] + "=" + str(s[2]) for s in SETTINGS]
)
def test_a_setting_away_from_its_default_makes_new_runs_and_is_recorded(tmp_path, override, column, value):
    default, changed = specs_for(tmp_path)[0], specs_for(tmp_path, override)[0]
    assert run_id(changed) != run_id(default) and group_id(changed) != group_id(default)
    # A setting each model holds itself packs with the default; one that changes the batches never does.
    model_holds_it = column in packing.MEMBER_FIELDS
    assert (packing.pack_key(changed) == packing.pack_key(default)) == model_holds_it
    assert model_holds_it != (column == "preprocessing")
    spec_json = {**changed.as_json(), "run_id": run_id(changed)}
    row, default_row = flatten_run(spec_json, {}), flatten_run({**default.as_json(), "run_id": run_id(default)}, {})
    assert row[column] == value and default_row[column] != value
    assert RunSpec.model_validate(changed.as_json()) == changed


def test_the_defaults_are_columns_of_every_row(tmp_path):
    spec = specs_for(tmp_path)[0]
    row = flatten_run({**spec.as_json(), "run_id": run_id(spec)}, {})
    assert row["model.batch_norm"] == "none" and row["model.dropout_kind"] == "standard"
    assert row["training.momentum"] == 0.0 and row["training.nesterov"] is False
    assert row["training.schedule"] == "constant" and row["training.early_stopping"] == "off"
    assert row["preprocessing"] == "scale"


@pytest.mark.parametrize(
    "override, expected",
    [
        ("training.momentum=0.9", "training.momentum: adam takes no momentum (only sgd and rmsprop do); drop"),
        ("training.nesterov=true", "training.nesterov: Nesterov momentum is SGD's; drop training.nesterov or set"),
        (
            "training.optimizer=sgd training.nesterov=true",
            "training.nesterov: Nesterov needs a momentum; set training.momentum",
        ),
        ("training.schedule=linear", "training.schedule: a schedule is constant, {name: cosine, alpha: 0.0} or"),
        ("training.schedule={name: cosine, alfa: 0.1}", "training.schedule.alfa: unknown field; did you mean 'alpha'?"),
        ("training.early_stopping.monitor=acc", "training.early_stopping.monitor: must be 'val_loss', 'val_accuracy'"),
        ("data.preprocessing=normalize", "data.preprocessing: must be 'scale', 'standardize' or 'center'"),
        ("models=[{type: cnn, batch_norm: yes}]", "models[0].batch_norm: must be 'none', 'before' or 'after'"),
        ("training.early_stopping=3", "training.early_stopping: early stopping is true, false or {monitor: val_loss"),
        (
            "training.optimizer=adamw training.weight_decay=0",
            "training.weight_decay: adamw without weight decay is adam; set training.optimizer: adam, or",
        ),
    ],
)
def test_a_bad_setting_is_one_line_naming_the_field_and_the_fix(tmp_path, override, expected):
    args = [a for o in split(override) for a in ("--set", o)]
    result = invoke("run", write_config(tmp_path, BASE), "--dry-run", *args, "--results-dir", tmp_path / "r")
    assert result.exit_code == 2 and expected in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_settings_that_are_allowed_and_their_shorthands(tmp_path):
    (spec, *_) = specs_for(tmp_path, "training.optimizer=rmsprop training.momentum=0.5")
    assert spec.training.momentum == 0.5
    (spec, *_) = specs_for(tmp_path, "training.schedule={name: constant}")
    assert spec.training.schedule == "constant" and run_id(spec) == run_id(specs_for(tmp_path)[0])
    (spec, *_) = specs_for(tmp_path, "training.early_stopping.monitor=val_accuracy")
    assert spec.training.early_stopping.patience == 10 and spec.training.early_stopping.restore_best
    (spec, *_) = specs_for(tmp_path, "training.early_stopping=true")
    assert spec.training.early_stopping == EarlyStopping()
    (spec, *_) = specs_for(tmp_path, "training.early_stopping=false")
    assert spec.training.early_stopping is None and run_id(spec) == run_id(specs_for(tmp_path)[0])
    # adamw left at its own 0.004 as before; another optimizer may say weight_decay 0 (it has none anyway).
    (spec, *_) = specs_for(tmp_path, "training.optimizer=adam training.weight_decay=0")
    assert spec.training.weight_decay == 0


def test_layers_as_the_settings_ask(tmp_path):
    from actbench.models import build_model

    def layer_names(*overrides):
        spec = specs_for(tmp_path, *overrides)[0]
        return [
            "act" if layer.name.startswith("act_") else type(layer).__name__
            for layer in build_model(spec, (28, 28, 1), 10).layers
        ]

    dense_bn_act = ["Flatten", "Dense", "BatchNormalization", "act", "Dense", "BatchNormalization", "act"]
    assert layer_names("models=[{type: mlp, hidden_units: [32, 16], batch_norm: before}]")[:7] == dense_bn_act
    after = layer_names("models=[{type: cnn, filters: [4], batch_norm: after}]")
    assert after[:3] == ["Conv2D", "act", "BatchNormalization"]
    assert "AlphaDropout" in layer_names("models=[{type: mlp, hidden_units: [8], dropout: 0.1, dropout_kind: alpha}]")
    zero = layer_names("models=[{type: mlp, hidden_units: [8], dropout: 0.0, dropout_kind: alpha}]")
    assert not [name for name in zero if "Dropout" in name]  # rate 0: no layer
    spec = specs_for(tmp_path, "training.l2=0.01")[0]
    model = build_model(spec, (28, 28, 1), 10)
    kernels = [layer.kernel for layer in model.layers if hasattr(layer, "kernel")]
    assert len(model.losses) == len(kernels) == 3  # both hidden kernels and the output's, no bias
    expected = 0.01 * sum(float(np.sum(np.square(k.numpy()))) for k in kernels)
    assert float(sum(model.losses)) == pytest.approx(expected, rel=1e-5)
    assert isinstance(CNNSpec().batch_norm, str)


def test_preprocessing_is_scikit_learns_standard_scaler_on_the_training_split(data):
    from sklearn.preprocessing import StandardScaler

    from actbench.pipeline import input_scaling
    from actbench.training.inputs import to_model_input

    flat = data.x_train.reshape(len(data.x_train), -1) / 255.0
    scaler = StandardScaler().fit(flat)
    test = tf.constant(data.x_test[:50])
    standardised = to_model_input(test, input_scaling("standardize", data.x_train)).numpy()
    expected = scaler.transform(data.x_test[:50].reshape(50, -1) / 255.0)
    np.testing.assert_allclose(standardised.reshape(50, -1), expected, atol=2e-5)
    assert (scaler.scale_ == 1.0).any()  # the sample's border pixels are constant: divided by 1, as here
    centred = to_model_input(test, input_scaling("center", data.x_train)).numpy()
    np.testing.assert_allclose(
        centred.reshape(50, -1), data.x_test[:50].reshape(50, -1) / 255.0 - scaler.mean_, atol=2e-6
    )
    assert input_scaling("scale", data.x_train) is None


# A pack of two runs (relu seed 0, tanh seed 1) against each alone, after two optimizer steps: the
# weights, batch normalisation's moving statistics among them, equal to float rounding.
PACKED_SETTINGS = [
    "models=[{type: mlp, hidden_units: [32, 16], batch_norm: before}] training.l2=0.001",
    "models=[{type: mlp, hidden_units: [32, 16], batch_norm: after, dropout: 0.3, dropout_kind: alpha}]"
    " data.preprocessing=standardize",
    "training.optimizer=sgd training.learning_rate=0.05 training.momentum=0.9 training.nesterov=true"
    " training.weight_decay=0.01 training.schedule={name: cosine, alpha: 0.1} data.preprocessing=center",
]


# The first in the default suite; the other two (15-20 s each on the shared 2-core machine) under slow.
@pytest.mark.parametrize(
    "overrides",
    [PACKED_SETTINGS[0], *(pytest.param(case, marks=pytest.mark.slow) for case in PACKED_SETTINGS[1:])],
    ids=["bn-before-l2", "bn-after-alpha-standardize", "sgdw-cosine-center"],
)
def test_packed_steps_with_the_settings_give_each_model_the_weights_it_gets_alone(tmp_path, data, overrides):
    few = dataclasses.replace(data, x_train=data.x_train[:64], y_train=data.y_train[:64])
    grid = specs_for(tmp_path, overrides, "seeds=[0,1]")
    specs = [grid[0], grid[3]]  # relu seed 0, tanh seed 1
    with TrainingContext(DataRequest("sample")) as context:
        trained = train_pack(specs, few, context)
    for spec, member in zip(specs, trained.members):
        initial = initial_weights(spec, few)
        alone = keras_weights(spec, few)
        packed = member.model.get_weights()
        assert len(packed) == len(alone)
        for before, mine, theirs in zip(initial, packed, alone):
            assert not np.array_equal(mine, before)  # the steps moved it (moving statistics too)
            np.testing.assert_allclose(mine, theirs, atol=2e-6, rtol=1e-5)
        assert trained.trainer.optimizers[member.slot].iterations.numpy() == 2


def test_early_stopping_packed_stops_each_run_where_it_stops_alone(tmp_path, data):
    # Patience 0 on the training loss with a large min_delta: relu and sigmoid stop at different epochs.
    specs = specs_for(
        tmp_path,
        "hidden_activations=[relu,sigmoid] training.epochs=8",
        "training.early_stopping={monitor: loss, patience: 0, min_delta: 0.05}",
    )
    epochs = []
    with TrainingContext(DataRequest("sample")) as context:
        packed = train_runs(specs, data, context, on_epoch=lambda member, epoch, row: epochs.append((member, epoch)))
    stopped = [result.metrics["epochs_run"] for result in packed]
    assert len(set(stopped)) == 2 and max(stopped) <= 8  # one left the pack before the other
    assert sorted(epochs) == sorted((i, e) for i, n in enumerate(stopped) for e in range(1, n + 1))
    for spec, result in zip(specs, packed):
        run, history = keras_fit(spec, data)  # Keras' fit with Keras' EarlyStopping
        assert result.metrics["epochs_run"] == len(history)
        assert result.metrics["best_epoch"] == run.early_stopping.best_epoch + 1
        assert result.metrics["stopped_early"] == run.stopped_early
        assert len(result.outputs.history) == result.metrics["epochs_run"]
    assert any(result.metrics["stopped_early"] for result in packed)


def test_a_sweep_records_the_settings_and_where_early_stopping_ended_each_run(tmp_path):
    import pandas as pd

    from actbench.sweep import run_sweep

    # The training loss never falls by 0.5 from one epoch to the next: every run stops after epoch 2 of 4.
    stopping = "{monitor: loss, patience: 0, min_delta: 0.5}"
    text = BASE.replace("epochs: 1", f"epochs: 4, early_stopping: {stopping}, l2: 0.0001")
    config = load_config(write_config(tmp_path, text))
    run_sweep(config, tmp_path / "results", pack="auto")
    exp_dir = tmp_path / "results" / "t"
    for directory in results.run_directories(exp_dir):
        metrics, history = results.read_metrics(directory), results.read_history(directory)
        assert metrics["epochs_run"] == len(history) == 2 and metrics["stopped_early"] is True
        assert metrics["best_epoch"] == 1 and metrics["pack_size"] == 2
        assert results.read_spec(directory)["training"]["early_stopping"]["min_delta"] == 0.5
    table = pd.read_csv(exp_dir / "results.csv")
    assert set(table["training.early_stopping"]) == {"loss(min_delta=0.5, patience=0, restore_best=true)"}
    assert set(table["training.l2"]) == {0.0001} and set(table["model.batch_norm"]) == {"none"}
    assert table["stopped_early"].all()
    kept = invoke("report", exp_dir, "--no-plots", "--filter", "training.l2=0.0001", "--filter", "preprocessing=scale")
    assert kept.exit_code == 0 and "2 runs" in kept.output, kept.output


@pytest.mark.slow
def test_a_packed_sweep_with_every_setting_gives_each_run_the_test_results_it_gets_alone(tmp_path):
    from actbench.sweep import run_sweep

    text = """
    name: both
    datasets: [mnist]
    data: {source: sample, limit_train: 1000, limit_test: 500, preprocessing: standardize}
    models: [{type: mlp, hidden_units: [32, 16], batch_norm: after, dropout: 0.1, dropout_kind: alpha}]
    hidden_activations: [relu, selu, tanh]
    training:
      {optimizer: sgd, learning_rate: 0.05, momentum: 0.9, nesterov: true, l2: 0.0001, weight_decay: 0.001,
       schedule: {name: step, every: 1, factor: 0.5}, epochs: 4, batch_size: 64,
       early_stopping: {monitor: val_accuracy, patience: 1, restore_best: true}}
    seeds: [0, 1]
    """
    config = load_config(write_config(tmp_path, text))
    outcome: dict[str, dict] = {}
    for pack in ("off", "auto"):
        run_sweep(config, tmp_path / pack, pack=pack)
        for directory in results.run_directories(tmp_path / pack / "both"):
            outcome.setdefault(directory.name, {})[pack] = results.read_metrics(directory)
    assert len(outcome) == 6
    for run, ways in outcome.items():
        alone, packed = ways["off"], ways["auto"]
        assert packed["pack_size"] == 3 and alone["pack_size"] == 1  # a seed's three activations a pack; alone, one
        for key in ("epochs_run", "best_epoch", "stopped_early"):
            assert packed[key] == alone[key], (run, key)
        assert abs(packed["test_accuracy"] - alone["test_accuracy"]) <= 0.004, run
