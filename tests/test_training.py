"""Training a run on small real samples: loss pairing, argmax accuracy for every output, seeding, divergence."""

import numpy as np
import pytest
from helpers_keras import trained_alone as train_and_evaluate

from actbench import evaluation
from actbench.config import expand_runs, load_config, parse_set
from actbench.datasets import load_dataset, split_dataset
from actbench.training.result import keras_accuracy
from helpers import write_config


def spec_for(tmp_path, **overrides):
    text = """
    name: t
    datasets: [mnist]
    data: {source: sample, limit_train: 400, limit_test: 200}
    models: [{type: mlp, hidden_units: [32]}]
    hidden_activations: [relu]
    training: {epochs: 2, batch_size: 32}
    """
    config = load_config(write_config(tmp_path, text), [parse_set(f"{k}={v}") for k, v in overrides.items()])
    return expand_runs(config, {"mnist": "sample"})[0]


@pytest.fixture(scope="module")
def data():
    return split_dataset(load_dataset("mnist", "sample"), 400, 200, 0.1)


@pytest.fixture(scope="module")
def softmax_run(tmp_path_factory, data):
    """The default run (softmax output), deterministic: trained once for the three tests that read it."""
    return train_and_evaluate(spec_for(tmp_path_factory.mktemp("softmax"), deterministic="true"), data)


@pytest.mark.parametrize("output", ["softmax", "linear", "sigmoid"])
def test_every_output_activation_learns_and_is_judged_by_argmax(tmp_path, data, softmax_run, output):
    result = (
        softmax_run
        if output == "softmax"
        else train_and_evaluate(spec_for(tmp_path, output_activations=f"[{output}]"), data)
    )
    assert result.status == "finished"
    # 10 classes: chance is 0.10; two short epochs on 360 images must already beat it clearly.
    assert result.metrics["test_accuracy"] > 0.3
    assert [row["epoch"] for row in result.outputs.history] == [1, 2]
    assert set(result.outputs.history[0]) == {"epoch", "loss", "accuracy", "val_loss", "val_accuracy", "seconds"}
    assert result.metrics["n_train"] + result.metrics["n_val"] == 400 and result.metrics["n_test"] == 200


def test_same_seed_same_numbers_other_seed_other_numbers(tmp_path, data, softmax_run):
    first = softmax_run
    again = train_and_evaluate(spec_for(tmp_path, deterministic="true"), data)
    other = train_and_evaluate(spec_for(tmp_path, deterministic="true", seeds="[7]"), data)
    assert first.outputs.history[-1]["loss"] == again.outputs.history[-1]["loss"]
    assert first.metrics["test_accuracy"] == again.metrics["test_accuracy"]
    assert other.outputs.history[-1]["loss"] != first.outputs.history[-1]["loss"]
    assert first.metrics["environment"]["deterministic"] is True


def test_a_loss_that_becomes_nan_is_recorded_as_diverged(tmp_path, data):
    result = train_and_evaluate(
        spec_for(tmp_path, **{"training.optimizer": "sgd", "training.learning_rate": 1e12}), data
    )
    assert result.status == "diverged"
    assert result.metrics["test_accuracy"] is None


def test_cnn_and_dropout_build_and_train(tmp_path, data):
    spec = spec_for(tmp_path, models="[{type: cnn, filters: [4, 8], dense_units: [16], dropout: 0.25}]")
    result = train_and_evaluate(spec, data)
    assert result.status == "finished" and result.metrics["params"] > 0


def test_keras_plain_accuracy_rounds_a_logit_at_half_where_the_right_rule_is_zero():
    logits = np.array([[0.3], [0.7], [-1.0], [0.2]], dtype="float32")
    targets = np.array([[1], [1], [0], [1]], dtype="float32")
    right = evaluation.class_probabilities(logits, "linear").argmax(axis=1) == targets[:, 0]
    assert right.mean() == 1.0
    assert keras_accuracy(logits, targets) == pytest.approx(0.5)  # 0.3 and 0.2 rounded to 0
    # Probabilities are rounded at 0.5 correctly; ten classes are compared by argmax either way.
    assert keras_accuracy(1 / (1 + np.exp(-logits)), targets) == pytest.approx(1.0)
    ten = np.eye(10, dtype="float32")[[3, 1]]
    assert keras_accuracy(ten * 0.4, ten) == pytest.approx(1.0)


@pytest.mark.parametrize("output, units", [("sigmoid", 1), ("linear", 1), ("softmax", 2)])
def test_binary_task_trains_each_output_layer_and_scores_the_positive_class(tmp_path, data, output, units):
    spec = spec_for(tmp_path, task="{type: binary, positive: [0]}", output_activations=f"[{output}]")
    result = train_and_evaluate(spec, data)
    assert result.status == "finished" and spec.output_units == units
    metrics = result.metrics
    # Digit 0 against the rest: 10% positive, so accuracy alone says little; the ranking must be good.
    assert metrics["positive_share"] == pytest.approx(0.1)
    assert metrics["roc_auc"] > 0.95 and metrics["pr_auc"] > 0.7
    assert 0 < metrics["threshold_tuned"] < 1
    test = result.outputs.test
    assert evaluation.class_probabilities(test.outputs, test.output_activation).shape == (200, 2)
    assert test.confusion.sum() == 200 and test.class_names == ["not 0", "0"]
    if output != "linear":
        assert metrics["keras_accuracy"] == pytest.approx(metrics["test_accuracy"], abs=1e-6)


def test_multiclass_run_records_per_class_scores(softmax_run):
    metrics = softmax_run.metrics
    assert len(metrics["per_class_recall"]) == 10 and metrics["min_class_recall"] <= metrics["macro_recall"]
    assert metrics["keras_accuracy"] == pytest.approx(metrics["test_accuracy"], abs=1e-6)
    assert 0 <= metrics["ece"] <= 1 and metrics["log_loss"] > 0
    assert metrics["decision_rule"] == "argmax"


def test_prelu_after_a_convolution_learns_one_slope_per_channel(tmp_path):
    from actbench.models import build_model

    def params(activation):
        spec = spec_for(tmp_path, models="[cnn]", hidden_activations=f"[{activation}]")
        return build_model(spec, (28, 28, 1), 10).count_params()

    # The default CNN has 34,826 weights; PReLU adds one slope per channel of its two convolutions
    # (32 + 64), not one per pixel and channel (26*26*32 + 11*11*64 = 29,376).
    assert params("relu") == 34_826
    assert params("prelu") == 34_826 + 32 + 64
    mlp = spec_for(tmp_path, hidden_activations="[prelu]")
    assert (
        build_model(mlp, (28, 28, 1), 10).count_params()
        == build_model(spec_for(tmp_path), (28, 28, 1), 10).count_params() + 32
    )
