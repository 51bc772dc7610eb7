"""Build the Keras model for a run: an MLP or a small convnet, read as a list of layers.

Each hidden activation is its own layer named `act_<i>` (ACTIVATION_LAYER), so diagnostics can probe
its output, and the output layer is a Dense layer `logits` followed by the output activation layer `output`.
With `batch_norm`, a BatchNormalization layer comes right before (the layer before it then has no bias)
or right after each hidden activation;
with `training.l2`, every Dense and Conv2D kernel (the output layer's too, never a bias) carries an L2 penalty.
"""

from __future__ import annotations

import re
from typing import Any

from actbench.activations import build_activation_layer
from actbench.config import CNNSpec, MLPSpec, RunSpec

ACTIVATION_LAYER = "act_"  # the name of every hidden activation layer: act_1, act_2, ...


def build_model(spec: RunSpec, input_shape: tuple[int, ...], output_units: int) -> Any:
    import keras

    model_spec = spec.model
    hidden = spec.hidden_activation
    init = model_spec.initializer
    counter = iter(range(1, 1000))
    # Only a penalty that is there is passed: a layer without a regularizer is the model of before l2 existed.
    penalty = {"kernel_regularizer": keras.regularizers.L2(spec.training.l2)} if spec.training.l2 else {}
    # Batch normalisation right after a layer subtracts its bias again: such a layer has none (as in
    # Ioffe and Szegedy's paper), or Adam would amplify the bias's zero gradient's rounding noise.
    weighted = {"kernel_initializer": init, "use_bias": model_spec.batch_norm != "before", **penalty}

    def activation(after_convolution: bool = False) -> list[Any]:
        name = f"{ACTIVATION_LAYER}{next(counter)}"
        layer = build_activation_layer(hidden.name, hidden.params, name, after_convolution=after_convolution)
        if model_spec.batch_norm == "before":
            return [keras.layers.BatchNormalization(), layer]
        if model_spec.batch_norm == "after":
            return [layer, keras.layers.BatchNormalization()]
        return [layer]

    def dropout() -> list[Any]:
        if not model_spec.dropout:
            return []
        kind = keras.layers.AlphaDropout if model_spec.dropout_kind == "alpha" else keras.layers.Dropout
        return [kind(model_spec.dropout)]

    layers: list[Any] = [keras.Input(shape=input_shape)]
    if isinstance(model_spec, MLPSpec):
        layers.append(keras.layers.Flatten())
        for units in model_spec.hidden_units:
            layers += [keras.layers.Dense(units, **weighted), *activation(), *dropout()]
    elif isinstance(model_spec, CNNSpec):
        for filters in model_spec.filters:
            layers += [
                keras.layers.Conv2D(filters, model_spec.kernel_size, **weighted),
                *activation(after_convolution=True),
                keras.layers.MaxPooling2D(model_spec.pool_size),
            ]
        layers.append(keras.layers.Flatten())
        for units in model_spec.dense_units:
            layers += [keras.layers.Dense(units, **weighted), *activation()]
        layers += dropout()
    else:  # pragma: no cover - the config schema admits only the two
        raise TypeError(f"unknown model type {model_spec!r}")
    # Output weights use Glorot whatever the hidden activation: the output activation is separate.
    layers += [
        keras.layers.Dense(output_units, name="logits", **penalty),
        build_activation_layer(spec.output_activation, {}, layer_name="output"),
    ]
    safe_name = re.sub(r"[^A-Za-z0-9_]", "_", hidden.name)  # a custom 'pkg.mod:fn' is no valid scope name
    return keras.Sequential(layers, name=f"{model_spec.type}_{safe_name}")
