"""The Keras layer of an activation; Keras is imported only when a layer is built."""

from __future__ import annotations

from typing import Any

from actbench.activations.custom import is_custom, load_custom_function


def build_activation_layer(
    name: str, params: dict[str, Any], layer_name: str | None = None, after_convolution: bool = False
) -> Any:
    """A Keras layer applying the activation; every activation is its own layer so it can be probed.

    After a convolution a learned parameter (PReLU's slope) is one per channel, shared over the
    image positions as in He et al. 2015; one per pixel would make "prelu" a far larger model.
    """
    import keras

    if is_custom(name):
        function = load_custom_function(name)
        return keras.layers.Activation(lambda x: function(x, **params), name=layer_name)
    if name == "leaky_relu":
        return keras.layers.LeakyReLU(negative_slope=params["alpha"], name=layer_name)
    if name == "prelu":
        initial = keras.initializers.Constant(params["alpha_init"])
        shared_axes = [1, 2] if after_convolution else None
        return keras.layers.PReLU(alpha_initializer=initial, shared_axes=shared_axes, name=layer_name)
    if name == "elu":
        return keras.layers.ELU(alpha=params["alpha"], name=layer_name)
    if name == "thresholded_relu":
        return keras.layers.ReLU(threshold=params["threshold"], name=layer_name)
    if name == "gelu":
        approximate = params["approximate"]
        return keras.layers.Activation(
            lambda x: keras.activations.gelu(x, approximate=approximate), name=layer_name
        )
    keras_name = {"swish": "silu"}.get(name, name)
    return keras.layers.Activation(keras_name, name=layer_name)
