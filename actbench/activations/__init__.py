"""Activation functions: the catalogue rows and what is derived from them.

    catalogue.py     one row per activation: formula, parameters, initializer, aliases, Keras layer;
                     names and parameters checked
    labels.py        the printed label `leaky_relu(alpha=0.1)`, reading it back, and `relu -> softmax`
    custom.py        your own activation as `package.module:function`
    curves.py        values and largest slope from the formula (plots, diagnostics)
    keras_layers.py  builds an activation's Keras layer from its row (or your own function)

Only keras_layers needs Keras, and imports it when a layer is built (it hands the module to the
row's builder): validating a config or drawing an activation's curve never imports TensorFlow.
"""

from actbench.activations.catalogue import (
    CATALOGUE,
    ActivationInfo,
    canonical_name,
    default_initializer,
    resolve_params,
)
from actbench.activations.curves import largest_slope, reference_curve
from actbench.activations.custom import is_custom, load_custom_function, source_digest
from actbench.activations.keras_layers import build_activation_layer
from actbench.activations.labels import ARROW, label, pair_label, parse_label

__all__ = [
    "ARROW", "CATALOGUE", "ActivationInfo", "build_activation_layer", "canonical_name", "default_initializer", "is_custom", "label",
    "largest_slope", "load_custom_function", "pair_label", "parse_label", "reference_curve", "resolve_params", "source_digest",
]
