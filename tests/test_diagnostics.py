"""Diagnostics on constructed networks whose answer is known, then on a real run."""

import math

import keras
import numpy as np
import pytest
from helpers_keras import trained_alone as train_and_evaluate

from actbench.activations import CATALOGUE
from actbench.config import Override, expand_runs, load_config
from actbench.datasets import load_dataset, split_dataset
from actbench.diagnostics import headline, measure, saturation_threshold, unit_statistics
from actbench.models import build_model
from actbench.outputs import loss_for
from actbench.results import DIAGNOSTICS_COLUMNS
from helpers import write_config

rng = np.random.default_rng(0)
X = rng.random((64, 28, 28, 1), dtype=np.float32)
Y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 64)]


def model_for(tmp_path, activation, model="{type: mlp, hidden_units: [16, 16]}", **overrides):
    text = f"name: d\ndatasets: [mnist]\nmodels: [{model}]\nhidden_activations: [{activation}]\n"
    config = load_config(write_config(tmp_path, text), [Override.of(k, v) for k, v in overrides.items()])
    spec = expand_runs(config, {"mnist": "sample"})[0]
    return spec, build_model(spec, (28, 28, 1), 10)


def dense_layers(model):
    return [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]


def test_relu_layer_pushed_negative_is_all_dead_and_passes_no_gradient(tmp_path):
    _, model = model_for(tmp_path, "relu")
    first = dense_layers(model)[0]
    first.bias.assign(np.full(first.bias.shape, -1e3, dtype=np.float32))
    rows = measure(model, loss_for("softmax", 10), X, Y, saturation_threshold("relu", {}))
    assert [row["name"] for row in rows] == ["act_1", "act_2", "logits"]
    assert rows[0]["dead_fraction"] == 1.0 and rows[0]["mean"] == 0.0
    # Nothing reaches past a dead layer, so no kernel before or after it learns from this batch.
    assert rows[0]["grad_norm"] == 0.0 and rows[1]["grad_norm"] == 0.0 and rows[2]["grad_norm"] == 0.0


def test_healthy_relu_layer_has_some_live_units_and_gradient(tmp_path):
    _, model = model_for(tmp_path, "relu")
    rows = measure(model, loss_for("softmax", 10), X, Y, saturation_threshold("relu", {}))
    assert rows[0]["dead_fraction"] < 0.5 and rows[0]["grad_norm"] > 0
    # ReLU's slope is 0 wherever its output is 0 and 1 elsewhere: saturated = the share of zeros.
    first = dense_layers(model)[0]
    zeros = np.mean(np.asarray(first(keras.layers.Flatten()(X))) <= 0)
    assert rows[0]["saturated_fraction"] == pytest.approx(zeros)


def test_sigmoid_layer_fed_huge_inputs_is_saturated(tmp_path):
    _, model = model_for(tmp_path, "sigmoid")
    first = dense_layers(model)[0]
    first.kernel.assign(first.kernel.numpy() * 1e4)
    rows = measure(model, loss_for("softmax", 10), X, Y, saturation_threshold("sigmoid", {}))
    assert rows[0]["saturated_fraction"] > 0.95
    _, calm = model_for(tmp_path, "sigmoid")
    assert (
        measure(calm, loss_for("softmax", 10), X, Y, saturation_threshold("sigmoid", {}))[0]["saturated_fraction"]
        < 0.05
    )


def test_linear_network_has_no_dead_units(tmp_path):
    _, model = model_for(tmp_path, "linear")
    rows = measure(model, loss_for("softmax", 10), X, Y, saturation_threshold("linear", {}))
    assert [row["dead_fraction"] for row in rows[:2]] == [0.0, 0.0]
    assert [row["saturated_fraction"] for row in rows[:2]] == [0.0, 0.0]


def test_a_convolution_unit_is_a_channel():
    values = np.zeros((4, 5, 5, 3), dtype=np.float32)
    values[0, 2, 2, 1] = 0.5  # channel 1 fires once, at one position of one input: alive
    values[..., 2] = 1.0  # channel 2: at the upper bound everywhere
    slopes = np.where((values > 0) & (values < 1), 0.25, 0.0)  # a sigmoid-like slope: flat at 0 and 1
    stats = unit_statistics(values, slopes, saturation_threshold("sigmoid", {}))
    assert stats["units"] == 3 and stats["dead_fraction"] == pytest.approx(1 / 3)  # only channel 0
    # Saturated: every value of channels 0 and 2 (flat), all but one of channel 1.
    assert stats["saturated_fraction"] == pytest.approx(1 - 1 / values.size)


@pytest.mark.parametrize("name", list(CATALOGUE))
def test_every_catalogue_activation_has_a_saturation_threshold_of_one_percent_of_its_largest_slope(name):
    threshold = saturation_threshold(name, CATALOGUE[name].defaults)
    largest = {
        "sigmoid": 0.25,
        "hard_sigmoid": 1 / 6,
        "softmax": 0.25,
        "selu": 1.0507 * 1.6733,
        "gelu": 1.129,
        "swish": 1.0998,
        "mish": 1.0885,
    }.get(name, 1.0)
    assert threshold == pytest.approx(0.01 * largest, rel=0.01)


@pytest.mark.parametrize(
    "activation, expected",
    [
        ("relu", 0.5),
        ("relu6", 1.0),
        ("elu", 0.5),
        ("selu", 0.5),
        ("tanh", 1.0),
        ("sigmoid", 1.0),
        ("softsign", 1.0),
        ("leaky_relu", 0.0),
    ],
)
def test_the_same_rule_counts_every_flat_region(tmp_path, activation, expected):
    # Half the pre-activations at -10, half at +10. Flat (slope < 1% of the largest) there: ReLU's
    # zeros, both ends of ReLU6, tanh, sigmoid and softsign (slope 1/121), ELU's and SELU's lower
    # plateau. Not flat: leaky ReLU (slope 0.01, not below 1%).
    _, model = model_for(tmp_path, activation, model="{type: mlp, hidden_units: [2]}")
    first = dense_layers(model)[0]
    first.kernel.assign(np.zeros(first.kernel.shape, dtype=np.float32))
    first.bias.assign(np.array([-10.0, 10.0], dtype=np.float32))
    row = measure(
        model, loss_for("softmax", 10), X, Y, saturation_threshold(activation, CATALOGUE[activation].defaults)
    )[0]
    assert row["saturated_fraction"] == pytest.approx(expected)


def test_a_softmax_hidden_layer_is_measured_by_its_jacobian_diagonal(tmp_path):
    _, model = model_for(tmp_path, "softmax", model="{type: mlp, hidden_units: [8]}")
    row = measure(model, loss_for("softmax", 10), X, Y, saturation_threshold("softmax", {}))[0]
    assert 0.0 <= row["saturated_fraction"] < 0.5  # eight units near 1/8 each: s(1-s) = 0.11, not flat


def test_headline_takes_the_last_epoch_worst_layer_and_gradient_ratio():
    rows = [
        {"epoch": 0, "layer": 1, "dead_fraction": 0.9, "saturated_fraction": math.nan, "grad_norm": 1.0},
        {"epoch": 0, "layer": 2, "grad_norm": 1.0},
        {"epoch": 1, "layer": 1, "dead_fraction": 0.25, "saturated_fraction": math.nan, "grad_norm": 0.01},
        {"epoch": 1, "layer": 2, "dead_fraction": 0.5, "saturated_fraction": math.nan, "grad_norm": 0.1},
        {"epoch": 1, "layer": 3, "grad_norm": 2.0},
    ]
    assert headline(rows) == {
        "dead_fraction_max": 0.5,
        "saturated_fraction_max": None,
        "grad_ratio_first_last": 0.005,
        "grad_ratio_initial": 1.0,
    }


@pytest.fixture(scope="module")
def tanh_runs(tmp_path_factory):
    """The same deterministic tanh run trained without and with diagnostics (trained once for the tests below)."""
    tmp_path = tmp_path_factory.mktemp("runs")
    data = split_dataset(load_dataset("mnist", "sample"), 400, 100, 0.1)
    common = {
        "training.epochs": 2,
        "data.source": "sample",
        "data.limit_train": 400,
        "data.limit_test": 100,
        "deterministic": True,
    }
    plain, _ = model_for(tmp_path, "tanh", **common)
    probed, _ = model_for(tmp_path, "tanh", diagnostics=True, **common)
    return train_and_evaluate(plain, data), train_and_evaluate(probed, data)


def test_a_run_with_diagnostics_measures_every_epoch_and_layer(tanh_runs):
    _, result = tanh_runs
    rows, histograms = result.outputs.diagnostics, result.outputs.histograms
    assert [(row["epoch"], row["layer"]) for row in rows] == [(e, layer) for e in (0, 1, 2) for layer in (1, 2, 3)]
    assert set(rows[0]) <= set(DIAGNOSTICS_COLUMNS)
    assert set(histograms) == {"act_1_counts", "act_1_edges", "act_2_counts", "act_2_edges"}
    assert histograms["act_1_counts"].sum() == 40 * 16  # 40 validation images (the whole split) x 16 units
    assert histograms["act_1_edges"].min() >= -1 and histograms["act_1_edges"].max() <= 1
    metrics = result.metrics
    assert 0 <= metrics["saturated_fraction_max"] <= 1 and metrics["grad_ratio_first_last"] > 0
    assert metrics["diagnostics_seconds"] > 0 and metrics["probe_size"] == 40


def test_measuring_does_not_change_what_is_trained(tanh_runs):
    without, with_ = tanh_runs
    assert without.outputs.diagnostics is None and "dead_fraction_max" not in without.metrics
    assert [row["loss"] for row in without.outputs.history] == [row["loss"] for row in with_.outputs.history]
    assert without.metrics["test_accuracy"] == with_.metrics["test_accuracy"]
