"""Train and evaluate one run: seed, compile with the loss that fits the output layer, fit, test once.

Accuracy is argmax-based for every output activation, so softmax, one-vs-rest sigmoid and raw
logits are judged the same way (Keras' plain "accuracy" would round a sigmoid or logit output at
0.5, which is the wrong rule for a 10-class decision).

This module imports TensorFlow at the top; the runner imports it only when a run is about to train.
"""

from __future__ import annotations

import math
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import keras
import numpy as np
import tensorflow as tf

from actbench import __version__
from actbench.config import RunSpec
from actbench.datasets import NUM_CLASSES, Dataset
from actbench.models import build_model

# Every run builds a new model, so each traces its own functions; TensorFlow's retracing warning
# about that is expected here and only noise.
tf.get_logger().setLevel("ERROR")

EpochCallback = Callable[[int, dict[str, float]], None]

# Run several batches per compiled call: on small models the per-step Python overhead otherwise
# dominates (see benchmarks/bench_speed.py). Keras still reports per-epoch metrics exactly.
STEPS_PER_EXECUTION = 50
EVAL_BATCH_SIZE = 1024


@dataclass
class RunResult:
    status: str  # "finished" | "diverged" | "failed"
    metrics: dict[str, Any]
    history: list[dict[str, float]] = field(default_factory=list)


def loss_for(output_activation: str) -> Any:
    """The cross-entropy that is correct for each output layer (labels are one-hot)."""
    if output_activation == "softmax":
        return keras.losses.CategoricalCrossentropy()
    if output_activation == "linear":  # raw logits: softmax happens inside the loss
        return keras.losses.CategoricalCrossentropy(from_logits=True)
    if output_activation == "sigmoid":  # ten independent one-vs-rest probabilities
        return keras.losses.BinaryCrossentropy()
    raise ValueError(f"no loss for output activation {output_activation!r}")


def prepare_inputs(images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """uint8 (N, 28, 28) -> float32 in [0, 1] with a channel axis; labels -> one-hot float32."""
    x = (images.astype(np.float32) / 255.0)[..., np.newaxis]
    y = np.eye(NUM_CLASSES, dtype=np.float32)[labels]
    return x, y


def train_and_evaluate(spec: RunSpec, data: Dataset, on_epoch: EpochCallback | None = None) -> RunResult:
    # A fresh global state per run: no layer-name counters, graphs or name scopes left over from
    # an earlier run (a run that raised can leave a scope open), and memory is given back.
    keras.backend.clear_session()
    keras.utils.set_random_seed(spec.seed)
    if spec.deterministic:
        tf.config.experimental.enable_op_determinism()

    x_train, y_train = prepare_inputs(data.x_train, data.y_train)
    x_val, y_val = prepare_inputs(data.x_val, data.y_val)
    x_test, y_test = prepare_inputs(data.x_test, data.y_test)

    model = build_model(spec, x_train.shape[1:], NUM_CLASSES)
    training = spec.training
    optimizer = keras.optimizers.get({"class_name": training.optimizer, "config": {"learning_rate": training.learning_rate}})
    model.compile(
        optimizer=optimizer,
        loss=loss_for(spec.output_activation),
        metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
        steps_per_execution=STEPS_PER_EXECUTION,
    )

    recorder = _EpochRecorder(on_epoch)
    started = time.perf_counter()
    model.fit(
        x_train,
        y_train,
        batch_size=training.batch_size,
        epochs=training.epochs,
        validation_data=(x_val, y_val),
        validation_batch_size=EVAL_BATCH_SIZE,
        shuffle=True,
        verbose=0,
        callbacks=[keras.callbacks.TerminateOnNaN(), recorder],
    )
    train_seconds = time.perf_counter() - started
    history = recorder.rows

    metrics: dict[str, Any] = {
        "params": int(model.count_params()),
        "epochs_run": len(history),
        "train_seconds": round(train_seconds, 4),
        "seconds_per_epoch": round(train_seconds / max(len(history), 1), 4),
        **data.sizes,
        "data_origin": data.origin,
        "environment": environment(spec.deterministic),
    }
    if recorder.diverged:
        metrics.update(test_accuracy=None, test_loss=None, best_val_accuracy=None, best_epoch=None)
        return RunResult("diverged", metrics, history)

    test_loss, test_accuracy = model.evaluate(x_test, y_test, batch_size=EVAL_BATCH_SIZE, verbose=0)
    best = max(history, key=lambda row: row["val_accuracy"])
    metrics.update(
        test_accuracy=float(test_accuracy),
        test_loss=float(test_loss),
        best_val_accuracy=best["val_accuracy"],
        best_epoch=best["epoch"],
    )
    return RunResult("finished", metrics, history)


class _EpochRecorder(keras.callbacks.Callback):
    """Keeps one row per epoch (with its wall time) and flags a loss that is no longer finite."""

    def __init__(self, on_epoch: EpochCallback | None) -> None:
        super().__init__()
        self.on_epoch = on_epoch
        self.rows: list[dict[str, float]] = []
        self.diverged = False
        self._started = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._started = time.perf_counter()

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        # TerminateOnNaN stops training on a NaN batch loss, but then no epoch row is written; note it.
        if logs and not math.isfinite(float(logs.get("loss", 0.0))):
            self.diverged = True

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        row = {"epoch": epoch + 1, **{k: float(logs[k]) for k in ("loss", "accuracy", "val_loss", "val_accuracy") if k in logs}}
        row["seconds"] = round(time.perf_counter() - self._started, 4)
        if not all(math.isfinite(v) for v in row.values()):
            self.diverged = True
        self.rows.append(row)
        if self.on_epoch:
            self.on_epoch(epoch + 1, row)


def environment(deterministic: bool) -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "actbench": __version__,
        "platform": platform.platform(),
        "cpu": _cpu_name(),
        "cpu_count": os.cpu_count(),
        "gpus": [d.name for d in tf.config.list_physical_devices("GPU")],
        "deterministic": deterministic,
        "argv": sys.argv[1:],
    }


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
