"""Activation functions: the catalogue rows and what is derived from them.

    catalogue.py     one row per activation: formula, parameters, initializer, aliases, Keras layer;
                     names and parameters checked; values and largest slope from the formula (plots,
                     diagnostics); the Keras layer built from a row (or your own function)
    custom.py        your own activation as `package.module:function`

Keras is imported only when a layer is built (build_activation_layer hands the module to the row's
builder): validating a config or drawing an activation's curve never imports TensorFlow.
Printed labels (`leaky_relu(alpha=0.1)`) are actbench.naming's.
"""

from actbench.activations.catalogue import (
    CATALOGUE,
    ActivationInfo,
    build_activation_layer,
    canonical_name,
    default_initializer,
    largest_slope,
    reference_curve,
    resolve_params,
)
from actbench.activations.custom import is_custom, load_custom_function, source_digest

__all__ = [
    "CATALOGUE",
    "ActivationInfo",
    "build_activation_layer",
    "canonical_name",
    "default_initializer",
    "is_custom",
    "largest_slope",
    "load_custom_function",
    "reference_curve",
    "resolve_params",
    "source_digest",
]
