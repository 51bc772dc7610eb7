"""Train and evaluate one run: seed, compile with the loss that fits the output layer, fit, test once.

Every output layer is judged by the right decision rule (argmax over several units, probability
> 0.5 for one sigmoid unit, logit > 0 for one linear unit), so softmax, sigmoid and raw logits
are comparable. What Keras' plain `metrics=["accuracy"]` reports for the same outputs is recorded
beside it as `keras_accuracy`: for a single logit Keras rounds at 0.5, not at 0.

This module imports TensorFlow at the top; the runner imports it only when a run is about to train.
"""

from __future__ import annotations

import math
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from actbench import __version__, evaluation
from actbench.config import RunSpec
from actbench.datasets import Dataset
from actbench.models import STEPS_PER_EXECUTION, build_model
from actbench.outputs import accuracy_metric, loss_for, output_layer
from actbench.pipeline import (
    InputScaling,
    TrainingBatches,
    evaluation_batches,
    input_scaling,
    model_input_shape,
    to_model_input,
)
from actbench.results import RunOutputs, RunStatus, TestOutputs
from actbench.tasks import class_names, encode_targets, task_labels

# Every run builds a new model, so each traces its own functions; TensorFlow's retracing warning
# about that is expected here and only noise.
tf.get_logger().setLevel("ERROR")

EpochCallback = Callable[[int, dict[str, float]], None]

EVAL_BATCH_SIZE = 1024


@dataclass
class RunResult:
    """A trained run: how it ended, metrics.json's content, and its outputs (each becomes a file)."""

    status: RunStatus  # FINISHED or DIVERGED: an error raises (see actbench.executors)
    metrics: dict[str, Any]
    outputs: RunOutputs


def keras_accuracy(outputs: np.ndarray, targets: np.ndarray) -> float:
    """What `compile(metrics=["accuracy"])` reports for these outputs: Keras picks the metric by shape."""
    # Keras' own choice (binary, sparse or categorical accuracy), updated once: evaluating a
    # pass-through model did the same in 0.3-0.5 s per run.
    from keras.src.trainers.compile_utils import get_metric

    metric = get_metric("accuracy", targets, outputs)
    metric.update_state(targets, outputs)
    return float(metric.result())


@dataclass
class PreparedRun:
    """A run ready to train: its model (compiled, with the weights it starts from), loss, targets and probe."""

    spec: RunSpec
    model: Any
    loss: Any
    labels: tuple[np.ndarray, np.ndarray, np.ndarray]  # train, val, test: class indices for the task
    targets: tuple[np.ndarray, np.ndarray, np.ndarray]  # the same, encoded for the output layer
    probe: Any = None  # a DiagnosticsCallback when the run asks for diagnostics
    scaling: InputScaling | None = None  # data.preprocessing's constants, from the training split
    early_stopping: Any = None  # a keras EarlyStopping when training.early_stopping is set

    @property
    def stopped_early(self) -> bool:
        """Whether early stopping ended it before its planned epochs (Keras' stopped_epoch is 0-based)."""
        stopped = self.early_stopping.stopped_epoch if self.early_stopping is not None else 0
        return 0 < stopped < self.spec.training.epochs - 1


def optimizer_for(spec: RunSpec, train_images: int) -> Any:
    """The run's Keras optimizer: its learning rate (or schedule, over optimizer steps), and only the
    arguments set away from their defaults, so a run at the defaults gets the optimizer it always had."""
    training = spec.training
    config: dict[str, Any] = {"learning_rate": learning_rate(training, -(-train_images // training.batch_size))}
    extra = {"momentum": training.momentum, "nesterov": training.nesterov, "weight_decay": training.weight_decay}
    config.update({key: value for key, value in extra.items() if value})
    return keras.optimizers.get({"class_name": training.optimizer, "config": config})


def learning_rate(training: Any, steps_per_epoch: int) -> Any:
    """training.learning_rate, or its schedule: cosine over every planned step (all `epochs`, even
    where early stopping ends the run sooner), step as a staircase every `every` epochs."""
    schedule, rate = training.schedule, training.learning_rate
    if schedule == "constant":
        return rate
    if schedule.name == "cosine":
        return keras.optimizers.schedules.CosineDecay(rate, training.epochs * steps_per_epoch, alpha=schedule.alpha)
    return keras.optimizers.schedules.ExponentialDecay(
        rate, schedule.every * steps_per_epoch, schedule.factor, staircase=True
    )


def early_stopping_for(spec: RunSpec) -> Any:
    """A Keras EarlyStopping for the run, or None: alone it is one of fit's callbacks, packed the pack
    feeds it the run's epoch rows, so a run stops at the same epoch either way."""
    stopping = spec.training.early_stopping
    if stopping is None:
        return None
    return keras.callbacks.EarlyStopping(
        monitor=stopping.monitor,
        patience=stopping.patience,
        min_delta=stopping.min_delta,
        mode="max" if stopping.monitor == "val_accuracy" else "min",
        restore_best_weights=stopping.restore_best,
    )


def prepare_run(spec: RunSpec, data: Dataset) -> PreparedRun:
    """Seed, build and compile a run's model: the same weights whether it trains alone or in a pack."""
    keras.utils.set_random_seed(spec.seed)  # initial weights and dropout; the data order is ours
    output, units = spec.output_activation, spec.output_units
    labels = tuple(task_labels(y, spec.task) for y in (data.y_train, data.y_val, data.y_test))
    targets = tuple(encode_targets(y, units) for y in labels)
    model = build_model(spec, model_input_shape(data.x_train), units)
    optimizer = optimizer_for(spec, len(data.x_train))
    loss = loss_for(output, units)
    model.compile(
        optimizer=optimizer,
        loss=loss,
        metrics=[accuracy_metric(output, units)],
        steps_per_execution=STEPS_PER_EXECUTION,
    )
    scaling = input_scaling(spec.preprocessing, data.x_train)
    probe = None
    if spec.diagnostics:
        from actbench.diagnostics import PROBE_SIZE, DiagnosticsCallback

        x_probe = to_model_input(tf.constant(data.x_val[:PROBE_SIZE]), scaling).numpy()
        probe = DiagnosticsCallback(
            loss, x_probe, targets[1][:PROBE_SIZE], spec.hidden_activation.name, spec.hidden_activation.params
        )
    return PreparedRun(spec, model, loss, labels, targets, probe, scaling, early_stopping_for(spec))  # type: ignore[arg-type]


def train_and_evaluate(spec: RunSpec, data: Dataset, on_epoch: EpochCallback | None = None) -> RunResult:
    # A fresh global state per run: no layer-name counters, graphs or name scopes left over from
    # an earlier run (a run that raised can leave a scope open), and memory is given back.
    keras.backend.clear_session()
    if spec.deterministic:
        tf.config.experimental.enable_op_determinism()
    run = prepare_run(spec, data)
    history, diverged, train_seconds = fit_alone(run, data, on_epoch)
    return finish_run(run, data, history, train_seconds, diverged, lambda images: predict(run, images))


def fit_alone(
    run: PreparedRun, data: Dataset, on_epoch: EpochCallback | None = None
) -> tuple[list[dict[str, float]], bool, float]:
    """Keras' fit of one run: its history, whether it diverged, and its training seconds (without diagnostics)."""
    training = run.spec.training
    batches = TrainingBatches(data.x_train, run.targets[0], run.spec.seed, training.batch_size, run.scaling)
    recorder = _EpochRecorder(on_epoch)
    # The recorder before early stopping: a history row for every epoch run, the last one included.
    callbacks = [batches, keras.callbacks.TerminateOnNaN(), recorder]
    if run.early_stopping:
        callbacks.append(run.early_stopping)
    if run.probe:
        callbacks.append(run.probe)  # after the recorder, so the epoch's own seconds do not include measuring it
    started = time.perf_counter()
    run.model.fit(
        batches.dataset,
        epochs=training.epochs,
        validation_data=evaluation_batches(data.x_val, run.targets[1], EVAL_BATCH_SIZE, run.scaling),
        shuffle=False,  # the batches come in batch_order already
        verbose=0,
        callbacks=callbacks,
    )
    return recorder.rows, recorder.diverged, time.perf_counter() - started - (run.probe.seconds if run.probe else 0.0)


def finish_run(
    run: PreparedRun,
    data: Dataset,
    history: list[dict[str, float]],
    train_seconds: float,
    diverged: bool,
    predict_images: Callable[[np.ndarray], np.ndarray],
) -> RunResult:
    """A trained run's metrics and outputs: its test once, by the output layer's decision rule.
    `predict_images` gives the model's raw outputs on uint8 images (alone: Keras' predict)."""
    spec, model, loss, probe = run.spec, run.model, run.loss, run.probe
    output, units = spec.output_activation, spec.output_units
    labels_test, labels_val = run.labels[2], run.labels[1]
    y_test = run.targets[2]
    metrics: dict[str, Any] = {
        "params": int(model.count_params()),
        "epochs_run": len(history),
        "stopped_early": run.stopped_early,
        "train_seconds": round(train_seconds, 4),  # without the time diagnostics took
        "seconds_per_epoch": round(train_seconds / max(len(history), 1), 4),
        **data.record,
        "decision_rule": output_layer(output).decision_rule(units),
        "environment": environment(spec.deterministic),
    }
    outputs = RunOutputs(history)
    if probe:
        from actbench.diagnostics import headline

        metrics.update(headline(probe.rows), diagnostics_seconds=round(probe.seconds, 4), probe_size=len(probe.x))
        outputs.diagnostics, outputs.histograms = probe.rows, probe.histograms
    if diverged:
        metrics.update(test_accuracy=None, test_loss=None, best_val_accuracy=None, best_epoch=None)
        return RunResult(RunStatus.DIVERGED, metrics, outputs)

    best = max(history, key=lambda row: row["val_accuracy"])
    metrics.update(best_val_accuracy=best["val_accuracy"], best_epoch=best["epoch"])
    if run.early_stopping is not None:  # the epoch early stopping counts best (and whose weights it restores)
        metrics["best_epoch"] = run.early_stopping.best_epoch + 1
    raw = predict_images(data.x_test)
    probabilities = evaluation.class_probabilities(raw, output)
    scores, confusion = evaluation.classification_metrics(probabilities, labels_test)
    metrics.update(scores)
    metrics["test_loss"] = float(loss(y_test, raw))
    metrics["keras_accuracy"] = round(keras_accuracy(raw, y_test), 6)  # float32 noise off
    if spec.task.type == "binary":
        p_val = evaluation.class_probabilities(predict_images(data.x_val), output)[:, 1]
        metrics.update(evaluation.binary_metrics(probabilities[:, 1], labels_test, p_val, labels_val))
    outputs.test = TestOutputs(raw, output, labels_test, class_names(data.class_names, spec.task), confusion)
    return RunResult(RunStatus.FINISHED, metrics, outputs)


def predict(run: PreparedRun, images: np.ndarray) -> np.ndarray:
    """The run's model's raw outputs (float32) on uint8 images."""
    return run.model.predict(evaluation_batches(images, None, EVAL_BATCH_SIZE, run.scaling), verbose=0)


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
        row = {
            "epoch": epoch + 1,
            **{k: float(logs[k]) for k in ("loss", "accuracy", "val_loss", "val_accuracy") if k in logs},
        }
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
