"""Every catalogue entry builds in Keras, computes what its NumPy reference says, and trains a step."""

import numpy as np
import pytest

from actbench import activations
from actbench.activations import CATALOGUE, build_activation_layer, reference_curve, resolve_params
from actbench.naming import activation_label

NAMES = sorted(CATALOGUE)
# Avoid the exact kink points (0, the threshold) where one-sided definitions legitimately differ.
GRID = np.linspace(-4.95, 4.95, 67).astype(np.float32)


@pytest.mark.parametrize("name", NAMES)
def test_keras_layer_matches_the_reference_formula(name):
    params = resolve_params(name, {})
    layer = build_activation_layer(name, params)
    got = np.asarray(layer(GRID.reshape(1, -1)))[0]
    expected = reference_curve(name, params, GRID.astype(np.float64))
    if expected is None:  # softmax: a distribution over the layer
        assert got.sum() == pytest.approx(1.0, abs=1e-5) and np.all(got > 0)
    else:
        np.testing.assert_allclose(got, expected, rtol=2e-3, atol=2e-3)


def test_parameters_reach_keras():
    for name, params in [
        ("leaky_relu", {"alpha": 0.3}),
        ("elu", {"alpha": 0.5}),
        ("thresholded_relu", {"threshold": 2.0}),
        ("prelu", {"alpha_init": 0.1}),
        ("gelu", {"approximate": True}),
    ]:
        params = resolve_params(name, params)
        got = np.asarray(build_activation_layer(name, params)(GRID.reshape(1, -1)))[0]
        np.testing.assert_allclose(got, reference_curve(name, params, GRID.astype(np.float64)), rtol=2e-3, atol=2e-3)


@pytest.mark.parametrize("name", NAMES)
def test_every_activation_trains_a_step(name):
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((8,)),
            keras.layers.Dense(4),
            build_activation_layer(name, resolve_params(name, {})),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    x, y = np.random.default_rng(0).normal(size=(16, 8)).astype("float32"), np.arange(16) % 3
    before = [w.copy() for w in model.get_weights()]
    loss = model.train_on_batch(x, y)
    assert np.isfinite(loss)
    assert any(not np.allclose(a, b) for a, b in zip(before, model.get_weights()))


def test_aliases_and_custom_functions():
    assert activations.canonical_name("SiLU") == "swish"
    assert activations.canonical_name("identity") == "linear"
    function = activations.load_custom_function("helpers_activations:scaled_tanh")
    layer = build_activation_layer("helpers_activations:scaled_tanh", {"scale": 2.0})
    np.testing.assert_allclose(np.asarray(layer(np.array([[0.5]], "float32"))), 2.0 * np.tanh(0.5), rtol=1e-5)
    assert callable(function)


def test_labels_are_canonical():
    assert activation_label("leaky_relu", {"alpha": 0.1}) == "leaky_relu(alpha=0.1)"
    assert activation_label("gelu", {"approximate": False}) == "gelu(approximate=false)"
    assert activation_label("relu", {}) == "relu"
