"""The Keras layer of an activation, as its catalogue row builds it; Keras is imported only when a layer is built."""

from __future__ import annotations

from typing import Any

from actbench.activations.catalogue import CATALOGUE
from actbench.activations.custom import is_custom, load_custom_function


def build_activation_layer(
    name: str, params: dict[str, Any], layer_name: str | None = None, after_convolution: bool = False
) -> Any:
    """A Keras layer applying the activation; every activation is its own layer so it can be probed.

    `after_convolution` lets a layer with learned parameters share them over the image positions
    (PReLU's slope: one per channel).
    """
    import keras

    if is_custom(name):
        function = load_custom_function(name)
        return keras.layers.Activation(lambda x: function(x, **params), name=layer_name)
    row = CATALOGUE.get(name)
    if row is not None and row.keras_layer is not None:
        return row.keras_layer(keras, params, layer_name, after_convolution)
    return keras.layers.Activation(name, name=layer_name)
