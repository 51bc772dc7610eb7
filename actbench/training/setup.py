"""A run made ready to train: seeded, its model built (the weights it starts from), its optimizer, its
loss for the output layer, its targets, and the callbacks that watch it (early stopping, diagnostics).
The same whether it trains alone or in a pack: a pack is its runs' own models (actbench.training.loop).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from actbench.config import RunSpec, steps_per_epoch
from actbench.datasets import Dataset
from actbench.models import build_model
from actbench.outputs import loss_for
from actbench.pipeline import InputScaling, model_input_shape
from actbench.tasks import encode_targets, task_labels
from actbench.training.inputs import to_model_input


@dataclass
class PreparedRun:
    """A run ready to train: its model (with the weights it starts from), optimizer, loss, targets and watchers."""

    spec: RunSpec
    model: Any
    optimizer: Any
    loss: Any
    labels: tuple[np.ndarray, np.ndarray, np.ndarray]  # train, val, test: class indices for the task
    targets: tuple[np.ndarray, np.ndarray, np.ndarray]  # the same, encoded for the output layer
    probe: Any = None  # a diagnostics.DiagnosticsProbe when the run asks for diagnostics
    early_stopping: Any = None  # a keras EarlyStopping when training.early_stopping is set

    @property
    def stopped_early(self) -> bool:
        """Whether early stopping ended it before its planned epochs (Keras' stopped_epoch is 0-based)."""
        stopped = self.early_stopping.stopped_epoch if self.early_stopping is not None else 0
        return 0 < stopped < self.spec.training.epochs - 1


def prepare_run(spec: RunSpec, data: Dataset, scaling: InputScaling | None) -> PreparedRun:
    """Seed, then build the run's model and optimizer: the same initial weights wherever it trains.
    `scaling`: its data.preprocessing, from the images of `data` it trains on."""
    keras.utils.set_random_seed(spec.seed)  # initial weights and dropout; the data order is ours
    output, units = spec.output_activation, spec.output_units
    labels = tuple(task_labels(y, spec.task) for y in (data.y_train, data.y_val, data.y_test))
    targets = tuple(encode_targets(y, units) for y in labels)
    model = build_model(spec, model_input_shape(data.x_train), units)
    optimizer = optimizer_for(spec, len(data.x_train))
    optimizer.build(model.trainable_variables)
    loss = loss_for(output, units)
    probe = None
    if spec.diagnostics:
        from actbench.diagnostics import PROBE_SIZE, DiagnosticsProbe

        x_probe = to_model_input(tf.constant(data.x_val[:PROBE_SIZE]), scaling).numpy()
        probe = DiagnosticsProbe(
            loss, x_probe, targets[1][:PROBE_SIZE], spec.hidden_activation.name, spec.hidden_activation.params
        )
    return PreparedRun(spec, model, optimizer, loss, labels, targets, probe, early_stopping_for(spec))  # type: ignore[arg-type]


def optimizer_for(spec: RunSpec, train_images: int) -> Any:
    """The run's Keras optimizer: its learning rate (or schedule, over optimizer steps), and only the
    arguments set away from their defaults, so a run at the defaults gets the optimizer it always had."""
    training = spec.training
    config: dict[str, Any] = {
        "learning_rate": learning_rate(training, steps_per_epoch(train_images, training.batch_size))
    }
    extra = {"momentum": training.momentum, "nesterov": training.nesterov, "weight_decay": training.weight_decay}
    config.update({key: value for key, value in extra.items() if value})
    return keras.optimizers.get({"class_name": training.optimizer, "config": config})


def learning_rate(training: Any, steps: int) -> Any:
    """training.learning_rate, or its schedule over `steps` a epoch: cosine over every planned step (all
    `epochs`, even where early stopping ends the run sooner), step as a staircase every `every` epochs."""
    schedule, rate = training.schedule, training.learning_rate
    if schedule == "constant":
        return rate
    if schedule.name == "cosine":
        return keras.optimizers.schedules.CosineDecay(rate, training.epochs * steps, alpha=schedule.alpha)
    return keras.optimizers.schedules.ExponentialDecay(rate, schedule.every * steps, schedule.factor, staircase=True)


def early_stopping_for(spec: RunSpec) -> Any:
    """A Keras EarlyStopping for the run, or None: fed the run's epoch rows, it says when the run stops
    and restores its best weights as Keras' fit would."""
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
