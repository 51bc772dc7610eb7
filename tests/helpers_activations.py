"""User-style custom activations for the tests (`helpers_activations:name` in a config)."""

import keras


def scaled_tanh(x, scale=1.0):
    return scale * keras.ops.tanh(x)


def explode(x):
    raise RuntimeError("this activation always fails")
