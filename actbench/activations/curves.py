"""An activation's values and largest slope, from its NumPy formula: for plots and for diagnostics' saturation rule."""

from __future__ import annotations

from typing import Any

import numpy as np

from actbench.activations.catalogue import CATALOGUE
from actbench.activations.custom import is_custom


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
