"""A trained run tested once, by the right decision rule for its output layer, into what its record holds.

Every output layer is judged by its decision rule (argmax over several units, probability > 0.5 for
one sigmoid unit, logit > 0 for one linear unit), so softmax, sigmoid and raw logits are comparable.
What Keras' plain `metrics=["accuracy"]` reports for the same outputs is recorded beside it as
`keras_accuracy`: for a single logit Keras rounds at 0.5, not at 0.
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from actbench import evaluation
from actbench.datasets import Dataset
from actbench.outputs import output_layer
from actbench.results import RunOutputs, RunStatus, TestOutputs
from actbench.tasks import class_names
from actbench.training.setup import PreparedRun
from actbench.version import __version__


@dataclass
class RunResult:
    """A trained run: how it ended, metrics.json's content, and its outputs (each becomes a file)."""

    status: RunStatus  # FINISHED or DIVERGED: an error raises (see actbench.executors)
    metrics: dict[str, Any]
    outputs: RunOutputs


def finish_run(
    run: PreparedRun,
    data: Dataset,
    history: list[dict[str, float]],
    train_seconds: float,
    diverged: bool,
    predict: Callable[[np.ndarray], np.ndarray],
) -> RunResult:
    """A trained run's metrics and outputs: its test once, by the output layer's decision rule.
    `predict` gives its model's raw outputs on uint8 images."""
    spec, loss, probe = run.spec, run.loss, run.probe
    output, units = spec.output_activation, spec.output_units
    labels_test, labels_val = run.labels[2], run.labels[1]
    y_test = run.targets[2]
    metrics: dict[str, Any] = {
        "params": int(run.model.count_params()),
        "epochs_run": len(history),
        "stopped_early": run.stopped_early,
        "train_seconds": round(train_seconds, 4),  # its own, without the time diagnostics took
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
    if spec.stage == "tune":  # it chooses settings on validation data: the test set is never looked at
        metrics.update(test_accuracy=None, test_loss=None)
        return RunResult(RunStatus.FINISHED, metrics, outputs)
    raw = predict(data.x_test)
    probabilities = evaluation.class_probabilities(raw, output)
    scores, confusion = evaluation.classification_metrics(probabilities, labels_test)
    metrics.update(scores)
    metrics["test_loss"] = float(loss(y_test, raw))
    metrics["keras_accuracy"] = round(keras_accuracy(raw, y_test), 6)  # float32 noise off
    if spec.task.type == "binary":
        p_val = evaluation.class_probabilities(predict(data.x_val), output)[:, 1]
        metrics.update(evaluation.binary_metrics(probabilities[:, 1], labels_test, p_val, labels_val))
    outputs.test = TestOutputs(raw, output, labels_test, class_names(data.class_names, spec.task), confusion)
    return RunResult(RunStatus.FINISHED, metrics, outputs)


def keras_accuracy(outputs: np.ndarray, targets: np.ndarray) -> float:
    """What `compile(metrics=["accuracy"])` reports for these outputs: Keras picks the metric by shape."""
    from keras.src.trainers.compile_utils import get_metric  # Keras' own choice; no public name for it

    metric = get_metric("accuracy", targets, outputs)
    metric.update_state(targets, outputs)
    return float(metric.result())


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
