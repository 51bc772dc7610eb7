"""A pack's trainer: the models it trains (one a member), their optimizers and metrics, and the compiled
functions that train and evaluate them together.

One compiled call (`run_steps`) takes a chunk of batches per model (each in its own seed's order) and,
step by step, sums the models' mean losses and applies each model's gradients with its own optimizer.
Nothing couples the models: d(sum of losses)/d(model k's weights) is model k's own gradient, and each
optimizer holds only its own model's state, so each model gets the numbers it gets alone, up to float
rounding (tests/test_packing.py). Each model's loss includes its own regularisation (`model.losses`:
the L2 penalty), as Keras' fit adds it; batch normalisation keeps its statistics in the model's own layers.

Tracing and compiling these functions takes as long as training a run or two of a small model, so a
sweep's context keeps a trainer for the next pack of the same structure (packing.structure_of), which
`load`s its runs' initial weights and resets each optimizer to its state as built: the same program
from the same starting values, the numbers of a fresh trainer. Each compiled function is cached under
the members it trains; everything it captures (the models, the images, the preprocessing) is the
trainer's own, fixed when it was built.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from actbench.outputs import accuracy_metric
from actbench.pipeline import InputScaling
from actbench.training.inputs import to_model_input
from actbench.training.setup import PreparedRun

EVAL_BATCH_SIZE = 1024  # images per call when a pack's models are evaluated (validation, test)
STEPS_TIMED = 10  # steps per call when a member's kind of step is timed (Trainer.step_seconds)

# Every pack traces its own functions, each run's models being new: TensorFlow's warning about
# retracing is expected here, and only noise.
tf.get_logger().setLevel("ERROR")


@dataclass(eq=False)
class Trainer:
    structure: str  # what it was built for (packing.structure_of)
    models: list[Any]
    optimizers: list[Any]
    losses: list[Any]
    loss_means: list[Any]  # each model's own loss mean and accuracy over an epoch, as Keras' fit keeps them
    accuracies: list[Any]
    optimizer_start: list[list[np.ndarray]]  # each optimizer's variables as built
    x_train: np.ndarray  # the training images and targets its steps gather batches from
    images: Any
    targets: Any
    scaling: InputScaling | None
    jit: bool  # its steps compiled by XLA
    _steps: dict[tuple[int, ...], Any] = field(default_factory=dict)
    _outputs: dict[tuple[int, ...], Any] = field(default_factory=dict)
    _step_costs: dict[int, Any] = field(default_factory=dict)

    def load(self, runs: Sequence[PreparedRun]) -> None:
        """A new pack of its structure: each run's initial weights into its slot's model, each optimizer
        as it was built (moments, step count), so the runs start from nothing."""
        for model, optimizer, start, run in zip(self.models, self.optimizers, self.optimizer_start, runs):
            if model is not run.model:
                model.set_weights(run.model.get_weights())
            for variable, value in zip(optimizer.variables, start):
                variable.assign(value)

    def start_epoch(self, slots: Sequence[int]) -> None:
        for slot in slots:
            self.loss_means[slot].reset_state()
            self.accuracies[slot].reset_state()

    def run_steps(self, slots: tuple[int, ...], indices: np.ndarray, sizes: np.ndarray, count: int) -> tuple[int, Any]:
        """Train `slots`' models on indices[k, s] (sizes[s] real images in batch s) for `count` steps or until
        a loss is not finite (that step applied): how many steps ran and the last step's losses."""
        try:
            done, losses = self._steps_of(slots)(indices, sizes, count)
        except tf.errors.OpError:
            if not self.jit:
                raise
            # XLA cannot compile an op of the step (a custom activation's, say), which it finds before
            # running any of it: the same steps without XLA.
            self.jit = False
            self._steps.clear()
            done, losses = self._steps_of(slots)(indices, sizes, count)
        return int(done), losses.numpy()

    def epoch_figures(self, slot: int, raw_val: np.ndarray, y_val: np.ndarray, loss: Any) -> dict[str, float]:
        """A model's epoch: its training loss and accuracy, and on the validation images (`raw_val`, its
        outputs) its loss with its regularisation, as Keras' validation counts it, and its accuracy."""
        accuracy = self.accuracies[slot]
        val_metric = type(accuracy).from_config(accuracy.get_config())
        val_metric.update_state(y_val, raw_val)
        return {
            "loss": float(self.loss_means[slot].result()),
            "accuracy": float(accuracy.result()),
            "val_loss": float(loss(y_val, raw_val) + penalty(self.models[slot])),
            "val_accuracy": float(val_metric.result()),
        }

    def outputs(self, slots: Sequence[int], images: np.ndarray) -> list[np.ndarray]:
        """The raw outputs (float32) of `slots`' models on uint8 images: one compiled call per batch for
        all of them (called eagerly, a model pays Keras' per-layer overhead on every batch)."""
        key = tuple(slots)
        if key not in self._outputs:
            models, scaling = [self.models[slot] for slot in key], self.scaling

            @tf.function(input_signature=[tf.TensorSpec([None, *images.shape[1:]], images.dtype)])
            def outputs_of(batch: tf.Tensor) -> list[tf.Tensor]:
                x = to_model_input(batch, scaling)
                return [model(x, training=False) for model in models]

            self._outputs[key] = outputs_of
        parts = [
            self._outputs[key](images[start : start + EVAL_BATCH_SIZE])
            for start in range(0, len(images), EVAL_BATCH_SIZE)
        ]
        return [np.concatenate([np.asarray(part[k]) for part in parts]) for k in range(len(key))]

    def step_seconds(self, slot: int, batches: np.ndarray) -> float:
        """What one training step of this slot's model costs alone: its forward and backward pass on each
        of the STEPS_TIMED batches `batches` (indices, one row a batch), compiled as the pack's steps are
        (by XLA where they are), in one call so the call's own overhead, which a pack's steps share, is
        spread thin. Each step reads its own batch, as training does: steps on one batch would be the
        same computation, which XLA hoists out of the loop and runs once. Never applied: the model is
        unchanged, in inference mode so no dropout mask or batch statistic moves. The first call traces
        and compiles, untimed."""
        if slot not in self._step_costs:
            self._step_costs[slot] = _timed_steps(self, slot)
            _fetched(self._step_costs[slot](batches))
        started = time.perf_counter()
        _fetched(self._step_costs[slot](batches))
        return (time.perf_counter() - started) / STEPS_TIMED

    def _steps_of(self, slots: tuple[int, ...]) -> Any:
        """The compiled training steps of the models still training (traced again when one leaves)."""
        if slots not in self._steps:
            self._steps[slots] = _compiled_steps(self, slots)
        return self._steps[slots]


def build_trainer(
    structure: str, runs: Sequence[PreparedRun], x_train: np.ndarray, images: Any, scaling: Any, jit: bool
) -> Trainer:
    """A trainer whose models are these runs' own (the first pack of a structure trains them directly).
    `images`: x_train as a tensor (one for every trainer of a sweep that trains on it)."""
    targets = runs[0].targets[0]  # the same task and output for every member: they are in the pack key
    return Trainer(
        structure=structure,
        models=[run.model for run in runs],
        optimizers=[run.optimizer for run in runs],
        losses=[run.loss for run in runs],
        loss_means=[keras.metrics.Mean() for _ in runs],
        accuracies=[accuracy_metric(run.spec.output_activation, run.spec.output_units) for run in runs],
        optimizer_start=[[v.numpy() for v in run.optimizer.variables] for run in runs],
        x_train=x_train,
        images=images,
        targets=tf.constant(targets),
        scaling=scaling,
        jit=jit,
    )


def _compiled_steps(trainer: Trainer, slots: tuple[int, ...]) -> Any:
    models = [trainer.models[s] for s in slots]
    optimizers = [trainer.optimizers[s] for s in slots]
    losses = [trainer.losses[s] for s in slots]
    loss_means = [trainer.loss_means[s] for s in slots]
    accuracies = [trainer.accuracies[s] for s in slots]
    images, targets, scaling = trainer.images, trainer.targets, trainer.scaling

    def one_step(indices: tf.Tensor, size: tf.Tensor) -> tf.Tensor:
        x = to_model_input(tf.gather(images, indices), scaling)
        y = tf.gather(targets, indices)
        # The real images of the batch weigh 1, a padded last batch's repeats 0: each loss is the mean
        # over the real images (as Keras' sum over the batch divided by its size, to the bit when unpadded).
        weights = tf.cast(tf.range(tf.shape(indices)[1]) < size, tf.float32)
        real = tf.cast(size, tf.float32)
        with tf.GradientTape() as tape:
            predictions = [model(x[k], training=True) for k, model in enumerate(models)]
            step_losses = [
                tf.reduce_sum(loss.call(y[k], p) * weights) / real + penalty(model)
                for k, (model, loss, p) in enumerate(zip(models, losses, predictions))
            ]
            total = tf.add_n(step_losses)
        variables = [model.trainable_variables for model in models]
        gradients = tape.gradient(total, variables)
        for k, optimizer in enumerate(optimizers):
            optimizer.apply(gradients[k], variables[k])
            loss_means[k].update_state(step_losses[k], sample_weight=real)
            accuracies[k].update_state(y[k], predictions[k], sample_weight=weights)
        return tf.stack(step_losses)

    @tf.function(
        input_signature=[
            tf.TensorSpec([len(slots), None, None], tf.int32),
            tf.TensorSpec([None], tf.int32),
            tf.TensorSpec([], tf.int32),
        ],
        jit_compile=trainer.jit,
    )
    def run_steps(indices: tf.Tensor, sizes: tf.Tensor, count: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        def going(done: tf.Tensor, step_losses: tf.Tensor) -> tf.Tensor:
            return tf.logical_and(done < count, tf.reduce_all(tf.math.is_finite(step_losses)))

        def step(done: tf.Tensor, step_losses: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            return done + 1, one_step(indices[:, done], sizes[done])

        return tf.while_loop(going, step, (tf.constant(0), tf.zeros([len(slots)])))

    return run_steps


def _timed_steps(trainer: Trainer, slot: int) -> Any:
    """STEPS_TIMED forward and backward passes of one slot's model, one a batch, in one compiled call."""
    model, loss, images, targets, scaling = (
        trainer.models[slot],
        trainer.losses[slot],
        trainer.images,
        trainer.targets,
        trainer.scaling,
    )

    @tf.function(input_signature=[tf.TensorSpec([STEPS_TIMED, None], tf.int32)], jit_compile=trainer.jit)
    def steps_alone(batches: tf.Tensor) -> tuple[tf.Tensor]:
        def step(done: tf.Tensor, total: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            x, y = to_model_input(tf.gather(images, batches[done]), scaling), tf.gather(targets, batches[done])
            with tf.GradientTape() as tape:
                value = loss(y, model(x, training=False)) + penalty(model)
            gradients = tape.gradient(value, model.trainable_variables)
            # Every gradient summed into what the call returns, so none of the work is pruned away.
            return done + 1, total + value + tf.add_n([tf.reduce_sum(g) for g in gradients if g is not None])

        return (tf.while_loop(lambda done, total: done < STEPS_TIMED, step, (tf.constant(0), tf.constant(0.0)))[1],)

    return steps_alone


def _fetched(tensors: Sequence[Any]) -> list[np.ndarray]:
    """The values themselves: a compiled call returns before its work is done, a value only once it is."""
    return [np.asarray(tensor) for tensor in tensors]


def penalty(model: Any) -> Any:
    """The model's regularisation losses, summed as Keras' fit adds them to its loss (0 without any)."""
    return sum(model.losses) if model.losses else 0.0
