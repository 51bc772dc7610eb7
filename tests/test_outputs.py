"""The output-layer catalogue: each row's loss, Keras accuracy, decision rule and width fit together."""

import keras
import numpy as np
import pytest

from actbench import activations, evaluation
from actbench.naming import output_label
from actbench.outputs import NAMES, OUTPUT_LAYERS, accuracy_metric, loss_for, output_layer, problem_with, units_for


def test_each_output_activation_gets_its_own_cross_entropy():
    softmax, linear, sigmoid = loss_for("softmax", 10), loss_for("linear", 10), loss_for("sigmoid", 10)
    assert isinstance(softmax, keras.losses.CategoricalCrossentropy) and not softmax.get_config()["from_logits"]
    assert isinstance(linear, keras.losses.CategoricalCrossentropy) and linear.get_config()["from_logits"]
    assert isinstance(sigmoid, keras.losses.BinaryCrossentropy) and not sigmoid.get_config()["from_logits"]


def test_binary_output_layers_pair_with_their_losses_and_decision_rules():
    assert loss_for("sigmoid", 1).get_config()["from_logits"] is False
    assert (
        isinstance(loss_for("linear", 1), keras.losses.BinaryCrossentropy)
        and loss_for("linear", 1).get_config()["from_logits"]
    )
    assert isinstance(loss_for("softmax", 2), keras.losses.CategoricalCrossentropy)
    assert accuracy_metric("linear", 1).get_config()["threshold"] == 0.0
    assert accuracy_metric("sigmoid", 1).get_config()["threshold"] == 0.5
    assert isinstance(accuracy_metric("softmax", 2), keras.metrics.CategoricalAccuracy)
    assert [
        output_layer("sigmoid").decision_rule(1),
        output_layer("linear").decision_rule(1),
        output_layer("softmax").decision_rule(2),
    ] == [
        "probability > 0.5",
        "logit > 0",
        "argmax",
    ]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("units", [1, 2, 10])
def test_the_keras_accuracy_and_the_class_probabilities_decide_alike(name, units):
    # Keras' accuracy during training and the report's argmax over class probabilities must call the
    # same class for the same outputs, or validation and test accuracy would measure different things.
    rng = np.random.default_rng(units)
    if OUTPUT_LAYERS[name].emits_logits:
        outputs = rng.normal(0, 3, size=(200, units))
    else:
        outputs = rng.uniform(0.01, 0.99, size=(200, units))
        outputs = outputs / outputs.sum(axis=1, keepdims=True) if name == "softmax" and units > 1 else outputs
    labels = rng.integers(0, max(units, 2), size=200)
    targets = labels[:, None].astype("float32") if units == 1 else np.eye(units, dtype="float32")[labels]
    metric = accuracy_metric(name, units)
    metric.update_state(targets, outputs.astype("float32"))
    argmax = evaluation.class_probabilities(outputs, name).argmax(axis=1) == labels
    assert float(metric.result()) == pytest.approx(argmax.mean(), abs=1e-6)


def test_every_output_layer_is_an_activation_keras_can_build():
    assert set(NAMES) <= set(activations.CATALOGUE)
    for row in OUTPUT_LAYERS.values():
        assert row.binary_units in (1, 2) and row.one_unit_loss in ("binary", "categorical")


def test_widths_problems_and_labels():
    assert [units_for(name, True, 10) for name in NAMES] == [2, 1, 1]
    assert units_for("sigmoid", False, 7) == 7 and units_for("softmax", True, 10, given=1) == 1
    assert problem_with("softmax", True, 1, 10).startswith("softmax over one unit always outputs 1.0")
    assert problem_with("linear", True, 1, 10) is None and problem_with("linear", False, 10, 10) is None
    assert problem_with("sigmoid", False, 5, 10) == "a 10-class task needs 10 output units (got 5); drop 'units'"
    assert (
        output_label("softmax", 2, binary=True) == "softmax (2 units)"
        and output_label("sigmoid", 1, binary=True) == "sigmoid (1 unit)"
    )
    assert output_label("softmax", 10, binary=False) == "softmax"
    with pytest.raises(ValueError, match="unknown output activation 'tanh'; use one of softmax, sigmoid, linear"):
        output_layer("tanh")
