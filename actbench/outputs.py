"""The output-layer catalogue: one row per output activation, and everything that follows from it.

A row says how wide the layer is for a binary task, what its outputs are (probabilities or raw
logits), which cross-entropy trains it, and by which rule its outputs become a predicted class.
Config, training, evaluation and the report read these rows instead of asking "is it softmax?",
so a new output layer is one row (plus its activation in actbench.activations).

Plain Python: `loss_for` and `accuracy_metric` import Keras only when called, so validating a
config or drawing a report never imports TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

CrossEntropy = Literal["binary", "categorical"]


@dataclass(frozen=True)
class OutputLayer:
    name: str  # also its activation's name in actbench.activations.CATALOGUE
    summary: str
    binary_units: int  # its width for a binary task when the config gives none
    # Raw scores: the loss applies the sigmoid (one unit) or softmax (several), and so does
    # evaluation.class_probabilities; otherwise the outputs are probabilities already.
    emits_logits: bool
    one_unit_loss: CrossEntropy  # the cross-entropy on a 0/1 target column
    several_units_loss: CrossEntropy  # the cross-entropy on one-hot target rows
    one_unit_threshold: float  # one unit: the positive class when the output exceeds this
    one_unit_problem: str | None = None  # why one unit of it cannot learn, where it cannot

    def cross_entropy(self, units: int) -> CrossEntropy:
        return self.one_unit_loss if units == 1 else self.several_units_loss

    def decision_rule(self, units: int) -> str:
        """How outputs become a predicted class; every rule equals the argmax of the class probabilities."""
        if units > 1:
            return "argmax"
        return f"{'logit' if self.emits_logits else 'probability'} > {self.one_unit_threshold:g}"


OUTPUT_LAYERS: dict[str, OutputLayer] = {
    row.name: row
    for row in [
        OutputLayer(
            "softmax",
            "a probability per class, summing to 1",
            binary_units=2,
            emits_logits=False,
            one_unit_loss="categorical",
            several_units_loss="categorical",
            one_unit_threshold=0.5,
            # exp(x) / exp(x) = 1.0 whatever x is: the output carries no information and no gradient.
            one_unit_problem="softmax over one unit always outputs 1.0, so the network cannot learn; "
            "use softmax with 2 units, or sigmoid or linear with 1",
        ),
        OutputLayer(
            "sigmoid",
            "an independent probability per unit (one class against the rest)",
            binary_units=1,
            emits_logits=False,
            one_unit_loss="binary",
            several_units_loss="binary",
            one_unit_threshold=0.5,
        ),
        OutputLayer(
            "linear",
            "raw logits; the sigmoid or softmax happens inside the loss",
            binary_units=1,
            emits_logits=True,
            one_unit_loss="binary",
            several_units_loss="categorical",
            one_unit_threshold=0.0,
        ),
    ]
}
NAMES = tuple(OUTPUT_LAYERS)  # in this order in the config's error messages


def output_layer(name: str) -> OutputLayer:
    try:
        return OUTPUT_LAYERS[name]
    except KeyError:
        raise ValueError(f"unknown output activation {name!r}; use one of {', '.join(NAMES)}") from None


def units_for(name: str, binary: bool, classes: int, given: int | None = None) -> int:
    """The output width: `given`, else one unit per class, or the layer's width for a binary task."""
    if given is not None:
        return given
    return output_layer(name).binary_units if binary else classes


def problem_with(name: str, binary: bool, units: int, classes: int) -> str | None:
    """What is wrong with `units` units of this output layer for the task on `classes` classes, or None."""
    layer = output_layer(name)
    if units == 1 and layer.one_unit_problem:
        return layer.one_unit_problem
    if not binary and units != classes:
        return f"a {classes}-class task needs {classes} output units (got {units}); drop 'units'"
    if binary and units not in (1, 2):
        return f"a binary task has 1 output unit (a probability or logit) or 2 (one per class), not {units}"
    return None


def loss_for(name: str, units: int) -> Any:
    """The Keras cross-entropy that is correct for the output layer (targets: a 0/1 column or one-hot rows)."""
    import keras

    layer = output_layer(name)
    loss = (
        keras.losses.BinaryCrossentropy
        if layer.cross_entropy(units) == "binary"
        else keras.losses.CategoricalCrossentropy
    )
    return loss(from_logits=layer.emits_logits)


def accuracy_metric(name: str, units: int) -> Any:
    """Keras accuracy by the layer's decision rule, named plainly "accuracy"."""
    import keras

    if units > 1:
        return keras.metrics.CategoricalAccuracy(name="accuracy")
    return keras.metrics.BinaryAccuracy(name="accuracy", threshold=output_layer(name).one_unit_threshold)
