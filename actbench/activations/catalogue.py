"""The activation catalogue rows: name, formula, parameters and their defaults, initializer, aliases, Keras layer;
and what a row gives: its values and largest slope (plots, diagnostics' saturation rule) and its Keras layer.

Plain Python and NumPy: each row's `reference` is the activation's formula, which plots draw and
the tests hold the Keras layers to. A row's `keras_layer` is handed the keras module when a layer
is built (build_activation_layer), so reading the catalogue never imports TensorFlow.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from actbench.activations.custom import is_custom, load_custom_function

# Initialisers chosen by `initializer: auto`, after He et al. 2015 (ReLU family), Klambauer et al.
# 2017 (SELU needs LeCun normal to self-normalise) and Glorot & Bengio 2010 (everything else).
HE = "he_normal"
LECUN = "lecun_normal"
GLOROT = "glorot_uniform"


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


def _erf(x: np.ndarray) -> np.ndarray:
    return np.vectorize(math.erf, otypes=[float])(x)


def _leaky(x: np.ndarray, slope: float) -> np.ndarray:
    return np.where(x > 0, x, slope * x)


def _elu(x: np.ndarray, alpha: float) -> np.ndarray:
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


_SELU_ALPHA = 1.6732632423543772
_SELU_SCALE = 1.0507009873554805

# (keras, params, layer name, after a convolution) -> a Keras layer; rows without one are keras.layers.Activation(name).
KerasLayer = Callable[[Any, dict[str, Any], str | None, bool], Any]


def _prelu_layer(keras: Any, params: dict[str, Any], name: str | None, after_convolution: bool) -> Any:
    # After a convolution the learned slope is one per channel, shared over the image positions as
    # in He et al. 2015; one per pixel would make "prelu" a far larger model.
    initial = keras.initializers.Constant(params["alpha_init"])
    return keras.layers.PReLU(alpha_initializer=initial, shared_axes=[1, 2] if after_convolution else None, name=name)


def _gelu_layer(keras: Any, params: dict[str, Any], name: str | None, after_convolution: bool) -> Any:
    approximate = params["approximate"]
    return keras.layers.Activation(lambda x: keras.activations.gelu(x, approximate=approximate), name=name)


@dataclass(frozen=True)
class ActivationInfo:
    """One catalogue entry. `reference` is a NumPy formula used for plots and for testing Keras."""

    name: str
    summary: str
    reference: Callable[..., np.ndarray] | None
    defaults: dict[str, Any] = field(default_factory=dict)
    initializer: str = GLOROT
    aliases: tuple[str, ...] = ()
    slope_bound: float | None = None  # its largest slope where `reference` cannot give it
    keras_layer: KerasLayer | None = None  # how Keras builds it, where not keras.layers.Activation(name)


CATALOGUE: dict[str, ActivationInfo] = {
    info.name: info
    for info in [
        ActivationInfo("relu", "max(0, x)", lambda x: np.maximum(0.0, x), initializer=HE),
        ActivationInfo("sigmoid", "1 / (1 + e^-x)", _sigmoid),
        ActivationInfo("tanh", "hyperbolic tangent", np.tanh),
        ActivationInfo("linear", "x (no activation)", lambda x: x, aliases=("identity", "none")),
        # No scalar formula: softmax mixes the whole layer. Diagnostics take its Jacobian's diagonal
        # s(1 - s) as its slope, which peaks at s = 1/2.
        ActivationInfo("softmax", "e^x_i / sum_j e^x_j over the layer", None, slope_bound=0.25),
        ActivationInfo(
            "leaky_relu",
            "x if x > 0 else alpha * x",
            lambda x, alpha: _leaky(x, alpha),
            defaults={"alpha": 0.01},
            initializer=HE,
            keras_layer=lambda keras, p, name, _: keras.layers.LeakyReLU(negative_slope=p["alpha"], name=name),
        ),
        ActivationInfo(
            "prelu",
            "leaky ReLU whose slope is learned per unit (starts at alpha_init)",
            lambda x, alpha_init: _leaky(x, alpha_init),
            defaults={"alpha_init": 0.25},
            initializer=HE,
            keras_layer=_prelu_layer,
        ),
        ActivationInfo(
            "elu",
            "x if x > 0 else alpha * (e^x - 1)",
            _elu,
            defaults={"alpha": 1.0},
            initializer=HE,
            keras_layer=lambda keras, p, name, _: keras.layers.ELU(alpha=p["alpha"], name=name),
        ),
        ActivationInfo(
            "selu",
            "scaled ELU with fixed constants; self-normalising",
            lambda x: _SELU_SCALE * _elu(x, _SELU_ALPHA),
            initializer=LECUN,
        ),
        ActivationInfo("softplus", "ln(1 + e^x)", _softplus),
        ActivationInfo("softsign", "x / (1 + |x|)", lambda x: x / (1 + np.abs(x))),
        ActivationInfo(
            "gelu",
            "x * Phi(x); approximate=true uses the tanh formula",
            lambda x, approximate: (
                0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
                if approximate
                else 0.5 * x * (1 + _erf(x / math.sqrt(2)))
            ),
            defaults={"approximate": False},
            initializer=HE,
            keras_layer=_gelu_layer,
        ),
        ActivationInfo(
            "swish",
            "x * sigmoid(x)",
            lambda x: x * _sigmoid(x),
            initializer=HE,
            aliases=("silu",),
            keras_layer=lambda keras, p, name, _: keras.layers.Activation("silu", name=name),
        ),
        ActivationInfo("mish", "x * tanh(softplus(x))", lambda x: x * np.tanh(_softplus(x)), initializer=HE),
        ActivationInfo(
            "hard_sigmoid",
            "relu6(x + 3) / 6, a piecewise-linear sigmoid",
            lambda x: np.clip(x + 3.0, 0.0, 6.0) / 6.0,
        ),
        ActivationInfo("relu6", "min(max(0, x), 6)", lambda x: np.clip(x, 0.0, 6.0), initializer=HE),
        ActivationInfo(
            "thresholded_relu",
            "x if x > threshold else 0",
            lambda x, threshold: np.where(x > threshold, x, 0.0),
            defaults={"threshold": 1.0},
            initializer=HE,
            keras_layer=lambda keras, p, name, _: keras.layers.ReLU(threshold=p["threshold"], name=name),
        ),
    ]
}

_ALIASES = {alias: info.name for info in CATALOGUE.values() for alias in info.aliases}


def canonical_name(name: str) -> str:
    """The catalogue name for `name` or one of its aliases; raises ValueError with suggestions."""
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key in CATALOGUE:
        return key
    choices = sorted([*CATALOGUE, *_ALIASES])
    close = difflib.get_close_matches(key, choices, n=3, cutoff=0.5)
    hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
    raise ValueError(
        f"unknown activation {name!r}; {hint}valid names: {', '.join(CATALOGUE)}, "
        "or your own function as 'package.module:function'"
    )


def resolve_params(name: str, given: dict[str, Any]) -> dict[str, Any]:
    """Fill in defaults and reject parameters the activation does not take. Numbers become floats,
    so `alpha: 1` and `alpha: 1.0` are the same run."""
    if is_custom(name):
        return {k: float(v) if _is_number(v) else v for k, v in sorted(given.items())}
    defaults = CATALOGUE[name].defaults
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        takes = f"takes {', '.join(defaults)}" if defaults else "takes no parameters"
        raise ValueError(f"activation {name!r} {takes}, not {', '.join(unknown)}")
    params = {**defaults, **given}
    for key, default in defaults.items():
        value = params[key]
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise ValueError(f"{name}.{key} must be true or false, not {value!r}")
        elif not _is_number(value):
            raise ValueError(f"{name}.{key} must be a number, not {value!r}")
        else:
            params[key] = float(value)
    return params


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def default_initializer(name: str) -> str:
    return GLOROT if is_custom(name) else CATALOGUE[name].initializer


def reference_curve(name: str, params: dict[str, Any], x: np.ndarray) -> np.ndarray | None:
    """NumPy values of the activation on `x`, or None where it has no scalar formula."""
    reference = None if is_custom(name) else CATALOGUE[name].reference
    return None if reference is None else reference(x, **params)


SLOPE_GRID = np.linspace(-20.0, 20.0, 40_001)  # every catalogue activation reaches its largest slope here


def largest_slope(name: str, params: dict[str, Any]) -> float | None:
    """max |f'(x)| of a catalogue activation, numerically over SLOPE_GRID, or its row's `slope_bound`
    where it has no scalar formula (softmax); None for a custom function (diagnostics measure it).

    The 99.99th percentile of the finite differences rather than their maximum: a jump (thresholded
    ReLU's step at its threshold) is no slope, and it touches only the grid points beside it.
    """
    if is_custom(name):
        return None
    y = reference_curve(name, params, SLOPE_GRID)
    if y is None:
        return CATALOGUE[name].slope_bound
    return float(np.percentile(np.abs(np.gradient(y, SLOPE_GRID)), 99.99))


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
