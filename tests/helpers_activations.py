"""User-style custom activations for the tests (`helpers_activations:name` in a config)."""

import keras


def scaled_tanh(x, scale=1.0):
    return scale * keras.ops.tanh(x)


def explode(x):
    raise RuntimeError("this activation always fails")


def die(x):
    """Kills the process that builds the model: what a crash in native code or the OOM killer looks like."""
    import os

    os._exit(3)


def misconfigured(x):
    """Stands for a data or config problem found only once a run starts: the user's to fix."""
    from actbench.errors import ActbenchError

    raise ActbenchError("helpers_activations:misconfigured: this stands for a problem only the user can fix")


def overflow(x):
    """Overflows to inf on the first batch: a model whose loss stops being finite at once."""
    return keras.ops.exp(x * 1000.0)


def numpy_relu(x):
    """ReLU computed by NumPy: an operation XLA cannot compile (a packed step then trains without XLA)."""
    import numpy as np
    import tensorflow as tf

    @tf.custom_gradient
    def relu(inputs):
        outputs = tf.numpy_function(lambda a: np.maximum(a, 0).astype(a.dtype), [inputs], inputs.dtype)
        outputs.set_shape(inputs.shape)
        return outputs, lambda upstream: upstream * tf.cast(inputs > 0, upstream.dtype)

    return relu(x)


def slow_relu(x):
    """ReLU after two hundred extra sines per unit, each weighted by 1e-9: ReLU's values, many times its work."""
    y = x
    for _ in range(200):
        y = y + 1e-9 * keras.ops.sin(y)
    return keras.ops.relu(y)
