"""Inside the network: dead and saturated units, activation statistics and gradient norms, per layer and epoch.

Measured on a fixed probe batch (the first PROBE_SIZE validation images, the same for every run of
a sweep; fewer when the validation split is smaller, and the size is recorded as `probe_size`) in
inference mode, so measuring consumes no random numbers and leaves training unchanged. Epoch 0 is
the network as initialised.

- Dead: a unit whose output is exactly 0 for every probe input (a convolution's unit is a channel,
  over all positions).
- Saturated: the share of a layer's activations (unit x probe input) where the activation's slope
  f'(z) is below 1% of that activation's largest slope: the same rule for every activation, so
  sigmoid's and tanh's plateaus, ELU's and SELU's lower plateau and ReLU's zero region all count.
  Softmax's slope is the diagonal of its Jacobian, s(1 - s), at most 1/4; a custom activation is
  taken to act elementwise and its largest slope is measured on a grid.
"""

from __future__ import annotations

import math
import time
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from actbench.activations import is_custom, largest_slope
from actbench.activations.catalogue import SLOPE_GRID
from actbench.models import ACTIVATION_LAYER
from actbench.results import histogram_keys

PROBE_SIZE = 512
HISTOGRAM_BINS = 60
SATURATION_SLOPE = 0.01  # a slope below 1% of the activation's largest counts as saturated


def weight_and_activation_layers(model: Any) -> list[tuple[Any, Any | None]]:
    """Each Dense/Conv layer paired with the hidden activation layer that follows it (None for the output)."""
    pairs: list[list[Any]] = []
    for layer in model.layers:
        if hasattr(layer, "kernel"):
            pairs.append([layer, None])
        elif layer.name.startswith(ACTIVATION_LAYER) and pairs:
            pairs[-1][1] = layer
    return [(weights, activation) for weights, activation in pairs]


def measure(model: Any, loss: Any, x: np.ndarray, y: np.ndarray, flat_below: float) -> list[dict[str, Any]]:
    """One row per weight layer: statistics of its activation's output and the norm of dLoss/dkernel.

    `flat_below`: the slope under which an activation counts as saturated (see `saturation_threshold`).
    """
    pairs = weight_and_activation_layers(model)
    with tf.GradientTape() as tape:
        prediction, outputs, slopes = _forward(model, x)
        loss_value = loss(y, prediction)
    gradients = tape.gradient(loss_value, [weights.kernel.value for weights, _ in pairs])
    rows = []
    for index, ((weights, activation), gradient) in enumerate(zip(pairs, gradients), start=1):
        row: dict[str, Any] = {"layer": index, "name": activation.name if activation else weights.name}
        if activation is not None:
            row.update(
                unit_statistics(np.asarray(outputs[activation.name]), np.asarray(slopes[activation.name]), flat_below)
            )
        row["grad_norm"] = float(tf.norm(gradient)) if gradient is not None else 0.0
        rows.append(row)
    return rows


def unit_statistics(values: np.ndarray, slopes: np.ndarray, flat_below: float) -> dict[str, Any]:
    """values, slopes: (inputs, [height, width,] units). A convolution's unit is a channel, over all positions."""
    per_unit = values.reshape(-1, values.shape[-1])
    dead = np.all(per_unit == 0.0, axis=0)
    return {
        "units": per_unit.shape[1],
        "dead_fraction": float(dead.mean()),
        "saturated_fraction": float(np.mean(np.abs(slopes) < flat_below)),
        "mean": float(per_unit.mean()),
        "std": float(per_unit.std()),
    }


def saturation_threshold(name: str, params: dict[str, Any]) -> float:
    """SATURATION_SLOPE times the activation's largest slope."""
    largest = _measured_largest_slope(name, params) if is_custom(name) else largest_slope(name, params)
    assert largest is not None  # largest_slope is None only for a custom function, measured instead
    return SATURATION_SLOPE * largest


def _measured_largest_slope(name: str, params: dict[str, Any]) -> float:
    from actbench.activations import load_custom_function

    function = load_custom_function(name)
    grid = tf.constant(SLOPE_GRID, dtype=tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(grid)
        values = function(grid, **params)
    return float(tf.reduce_max(tf.abs(tape.gradient(values, grid))))


def histograms(model: Any, x: np.ndarray) -> dict[str, np.ndarray]:
    """Per hidden activation layer: counts and bin edges of its outputs on the probe batch."""
    found: dict[str, np.ndarray] = {}
    for name, output in _forward(model, x)[1].items():
        values = np.asarray(output).ravel()
        values = values[np.isfinite(values)]
        counts, edges = np.histogram(values, bins=HISTOGRAM_BINS)
        counts_key, edges_key = histogram_keys(name)
        found[counts_key], found[edges_key] = counts.astype(np.int32), edges.astype(np.float32)
    return found


def _forward(model: Any, x: np.ndarray) -> tuple[tf.Tensor, dict[str, tf.Tensor], dict[str, tf.Tensor]]:
    """The model's output in inference mode, and each hidden activation layer's output and slope
    f'(z) at its input z, by layer name."""
    outputs: dict[str, tf.Tensor] = {}
    slopes: dict[str, tf.Tensor] = {}
    h = tf.convert_to_tensor(x)
    for layer in model.layers:
        if not layer.name.startswith(ACTIVATION_LAYER):
            h = layer(h, training=False)
            continue
        with tf.GradientTape() as tape:
            tape.watch(h)
            out = layer(h, training=False)
        if getattr(layer, "activation", None) is keras.activations.softmax:
            slopes[layer.name] = out * (1.0 - out)  # the sum over a softmax is 1: its gradient says nothing
        else:
            slopes[layer.name] = tape.gradient(out, h)  # elementwise: the sum's gradient is f'(z) per unit
        h = outputs[layer.name] = out
    return h, outputs, slopes


def headline(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The figures for results.csv. From the last epoch measured: the worst layer's dead and saturated
    shares and the first layer's gradient norm over the output layer's (far below 1: vanishing).
    The same ratio at initialisation, where a deep sigmoid stack shows it most plainly."""
    if not rows:
        return {}
    last = [row for row in rows if row["epoch"] == rows[-1]["epoch"]]
    hidden = [row for row in last if "dead_fraction" in row]
    saturated = [row["saturated_fraction"] for row in hidden if not math.isnan(row["saturated_fraction"])]
    return {
        "dead_fraction_max": max((row["dead_fraction"] for row in hidden), default=None),
        "saturated_fraction_max": max(saturated) if saturated else None,
        "grad_ratio_first_last": _gradient_ratio(last),
        "grad_ratio_initial": _gradient_ratio([row for row in rows if row["epoch"] == 0]),
    }


def _gradient_ratio(layers: list[dict[str, Any]]) -> float | None:
    if not layers or layers[-1]["grad_norm"] <= 0:
        return None
    return layers[0]["grad_norm"] / layers[-1]["grad_norm"]


class DiagnosticsProbe:
    """Measures a run's model before training (epoch 0) and after every epoch, and its activations'
    histograms at the end; keeps the time it spends, which is not the run's training time."""

    def __init__(
        self, loss: Any, x_probe: np.ndarray, y_probe: np.ndarray, activation: str, params: dict[str, Any]
    ) -> None:
        self.loss, self.x, self.y = loss, x_probe, y_probe
        self.flat_below = saturation_threshold(activation, params)
        self.rows: list[dict[str, Any]] = []
        self.histograms: dict[str, np.ndarray] = {}
        self.seconds = 0.0

    def after_epoch(self, model: Any, epoch: int) -> None:
        """Epoch 0: the model as initialised."""
        started = time.perf_counter()
        self.rows += [{"epoch": epoch, **row} for row in measure(model, self.loss, self.x, self.y, self.flat_below)]
        self.seconds += time.perf_counter() - started

    def after_training(self, model: Any) -> None:
        started = time.perf_counter()
        self.histograms = histograms(model, self.x)
        self.seconds += time.perf_counter() - started
