"""The activation catalogue: names, parameters, canonical labels, and how to build each one in Keras.

Everything here except `build_activation_layer` is plain Python and NumPy, so validating a config
or drawing an activation's curve never imports TensorFlow.
"""

from __future__ import annotations

import difflib
import importlib
import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

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


_SELU_ALPHA = 1.6732632423543772
_SELU_SCALE = 1.0507009873554805


@dataclass(frozen=True)
class ActivationInfo:
    """One catalogue entry. `reference` is a NumPy formula used for plots and for testing Keras."""

    name: str
    summary: str
    reference: Callable[..., np.ndarray] | None
    defaults: dict[str, Any] = field(default_factory=dict)
    initializer: str = GLOROT
    aliases: tuple[str, ...] = ()


CATALOGUE: dict[str, ActivationInfo] = {
    info.name: info
    for info in [
        ActivationInfo("relu", "max(0, x)", lambda x: np.maximum(0.0, x), initializer=HE),
        ActivationInfo("sigmoid", "1 / (1 + e^-x)", _sigmoid),
        ActivationInfo("tanh", "hyperbolic tangent", np.tanh),
        ActivationInfo("linear", "x (no activation)", lambda x: x, aliases=("identity", "none")),
        # No scalar formula: softmax mixes the whole layer (diagnostics use its Jacobian's diagonal).
        ActivationInfo("softmax", "e^x_i / sum_j e^x_j over the layer", None),
        ActivationInfo(
            "leaky_relu",
            "x if x > 0 else alpha * x",
            lambda x, alpha: np.where(x > 0, x, alpha * x),
            defaults={"alpha": 0.01},
            initializer=HE,
        ),
        ActivationInfo(
            "prelu",
            "leaky ReLU whose slope is learned per unit (starts at alpha_init)",
            lambda x, alpha_init: np.where(x > 0, x, alpha_init * x),
            defaults={"alpha_init": 0.25},
            initializer=HE,
        ),
        ActivationInfo(
            "elu",
            "x if x > 0 else alpha * (e^x - 1)",
            lambda x, alpha: np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0))),
            defaults={"alpha": 1.0},
            initializer=HE,
        ),
        ActivationInfo(
            "selu",
            "scaled ELU with fixed constants; self-normalising",
            lambda x: _SELU_SCALE * np.where(x > 0, x, _SELU_ALPHA * np.expm1(np.minimum(x, 0))),
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
        ),
        ActivationInfo("swish", "x * sigmoid(x)", lambda x: x * _sigmoid(x), initializer=HE, aliases=("silu",)),
        ActivationInfo("mish", "x * tanh(softplus(x))", lambda x: x * np.tanh(_softplus(x)), initializer=HE),
        ActivationInfo(
            "hard_sigmoid",
            "relu6(x + 3) / 6, a piecewise-linear sigmoid",
            lambda x: np.clip(x + 3.0, 0.0, 6.0) / 6.0,
        ),
        ActivationInfo(
            "relu6", "min(max(0, x), 6)", lambda x: np.clip(x, 0.0, 6.0), initializer=HE
        ),
        ActivationInfo(
            "thresholded_relu",
            "x if x > threshold else 0",
            lambda x, threshold: np.where(x > threshold, x, 0.0),
            defaults={"threshold": 1.0},
            initializer=HE,
        ),
    ]
}

_ALIASES = {alias: info.name for info in CATALOGUE.values() for alias in info.aliases}


def is_custom(name: str) -> bool:
    """A user's own activation is named `package.module:function`."""
    return ":" in name


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


def source_digest(function: Callable[..., Any]) -> str:
    """Short sha256 of a custom activation's source code (of its module's file when the source
    cannot be had), so that editing the function gives its runs new ids."""
    import hashlib
    import inspect
    from pathlib import Path

    try:
        text = inspect.getsource(function)
    except (OSError, TypeError):
        path = getattr(inspect.getmodule(function), "__file__", None)
        text = Path(path).read_text(encoding="utf-8", errors="replace") if path else repr(function)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def load_custom_function(name: str) -> Callable[..., Any]:
    """Import `package.module:function`; raises ValueError naming what is missing."""
    module_name, _, attr = name.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"cannot import module {module_name!r} for activation {name!r}: {exc}") from None
    function = getattr(module, attr, None)
    if not callable(function):
        raise ValueError(f"module {module_name!r} has no function {attr!r} (activation {name!r})")
    return function


def label(name: str, params: dict[str, Any]) -> str:
    """The canonical printed form, e.g. `relu` or `leaky_relu(alpha=0.1)`; used in results."""
    if not params:
        return name
    args = ", ".join(f"{k}={_format_value(v)}" for k, v in sorted(params.items()))
    return f"{name}({args})"


def parse_label(text: str) -> tuple[str, dict[str, Any]]:
    """The inverse of `label`, so printed labels work as input: 'leaky_relu(alpha=0.2)' -> ('leaky_relu', {'alpha': 0.2})."""
    name, bracket, inside = text.strip().partition("(")
    if not bracket:
        return name, {}
    if not inside.endswith(")") or not name.strip():
        raise ValueError(f"{text!r}: write an activation with parameters as name(key=value), e.g. leaky_relu(alpha=0.2)")
    params: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in inside[:-1].split(","))):
        key, equals, value = item.partition("=")
        if not equals or not key.strip():
            raise ValueError(f"{text!r}: parameter {item!r} needs a value, e.g. leaky_relu(alpha=0.2)")
        params[key.strip()] = _parse_value(value.strip())
    return name.strip(), params


def _parse_value(text: str) -> Any:
    """Parameter values as `label` prints them: true/false, numbers; anything else stays text."""
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    try:
        return float(text)
    except ValueError:
        return text


def _format_value(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return repr(value)
    return str(value)


def default_initializer(name: str) -> str:
    return GLOROT if is_custom(name) else CATALOGUE[name].initializer


def reference_curve(name: str, params: dict[str, Any], x: np.ndarray) -> np.ndarray | None:
    """NumPy values of the activation on `x`, or None where it has no scalar formula."""
    if is_custom(name) or CATALOGUE[name].reference is None:
        return None
    return CATALOGUE[name].reference(x, **params)


_SLOPE_GRID = np.linspace(-20.0, 20.0, 40_001)


def largest_slope(name: str, params: dict[str, Any]) -> float | None:
    """max |f'(x)| of a catalogue activation, numerically over [-20, 20] (where every catalogue
    activation reaches it), or None where it has no scalar formula (softmax, custom functions).

    The 99.99th percentile of the finite differences rather than their maximum: a jump (thresholded
    ReLU's step at its threshold) is no slope, and it touches only the grid points beside it.
    """
    y = reference_curve(name, params, _SLOPE_GRID)
    if y is None:
        return None
    return float(np.percentile(np.abs(np.gradient(y, _SLOPE_GRID)), 99.99))


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
