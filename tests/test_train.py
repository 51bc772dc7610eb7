"""Training on small real samples: loss pairing, argmax accuracy for every output, seeding, divergence."""

import keras
import pytest

from actbench.config import load_config, expand_runs
from actbench.datasets import load_dataset, split_dataset
from actbench.train import loss_for, train_and_evaluate
from conftest import write_config


def spec_for(tmp_path, **overrides):
    text = """
    name: t
    datasets: [mnist]
    data: {source: sample, limit_train: 400, limit_test: 200}
    models: [{type: mlp, hidden_units: [32]}]
    hidden_activations: [relu]
    training: {epochs: 2, batch_size: 32}
    """
    config = load_config(write_config(tmp_path, text), [f"{k}={v}" for k, v in overrides.items()])
    return expand_runs(config, {"mnist": "sample"})[0]


@pytest.fixture(scope="module")
def data():
    return split_dataset(load_dataset("mnist", "sample"), 400, 200, 0.1)


def test_each_output_activation_gets_its_own_cross_entropy():
    softmax, linear, sigmoid = loss_for("softmax"), loss_for("linear"), loss_for("sigmoid")
    assert isinstance(softmax, keras.losses.CategoricalCrossentropy) and not softmax.get_config()["from_logits"]
    assert isinstance(linear, keras.losses.CategoricalCrossentropy) and linear.get_config()["from_logits"]
    assert isinstance(sigmoid, keras.losses.BinaryCrossentropy) and not sigmoid.get_config()["from_logits"]


@pytest.mark.parametrize("output", ["softmax", "linear", "sigmoid"])
def test_every_output_activation_learns_and_is_judged_by_argmax(tmp_path, data, output):
    result = train_and_evaluate(spec_for(tmp_path, output_activations=f"[{output}]"), data)
    assert result.status == "finished"
    # 10 classes: chance is 0.10; two short epochs on 360 images must already beat it clearly.
    assert result.metrics["test_accuracy"] > 0.3
    assert [row["epoch"] for row in result.history] == [1, 2]
    assert set(result.history[0]) == {"epoch", "loss", "accuracy", "val_loss", "val_accuracy", "seconds"}
    assert result.metrics["n_train"] + result.metrics["n_val"] == 400 and result.metrics["n_test"] == 200


def test_same_seed_same_numbers_other_seed_other_numbers(tmp_path, data):
    first = train_and_evaluate(spec_for(tmp_path, deterministic="true"), data)
    again = train_and_evaluate(spec_for(tmp_path, deterministic="true"), data)
    other = train_and_evaluate(spec_for(tmp_path, deterministic="true", seeds="[7]"), data)
    assert first.history[-1]["loss"] == again.history[-1]["loss"]
    assert first.metrics["test_accuracy"] == again.metrics["test_accuracy"]
    assert other.history[-1]["loss"] != first.history[-1]["loss"]
    assert first.metrics["environment"]["deterministic"] is True


def test_a_loss_that_becomes_nan_is_recorded_as_diverged(tmp_path, data):
    result = train_and_evaluate(spec_for(tmp_path, **{"training.optimizer": "sgd", "training.learning_rate": 1e12}), data)
    assert result.status == "diverged"
    assert result.metrics["test_accuracy"] is None


def test_cnn_and_dropout_build_and_train(tmp_path, data):
    spec = spec_for(tmp_path, models="[{type: cnn, filters: [4, 8], dense_units: [16], dropout: 0.25}]")
    result = train_and_evaluate(spec, data)
    assert result.status == "finished" and result.metrics["params"] > 0
