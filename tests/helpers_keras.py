"""The reference every way of training is compared against: a run trained by Keras' own `model.fit`, on
the very batches actbench gives it (pipeline.batch_order, the run's preprocessing), with Keras' own
callbacks (EarlyStopping restoring the best weights, TerminateOnNaN).

actbench itself trains every run as a pack (a run alone is a pack of one); the tests hold it to this."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from actbench.context import TrainingContext
from actbench.datasets.cache import DataRequest
from actbench.models import build_model
from actbench.outputs import accuracy_metric
from actbench.packing import STEPS_PER_CALL
from actbench.pipeline import batch_order, input_scaling, model_input_shape
from actbench.training import train_alone
from actbench.training.inputs import to_model_input
from actbench.training.setup import PreparedRun, prepare_run


class TrainingBatches(keras.callbacks.Callback):
    """A tf.data dataset of (images, targets) batches in `batch_order`, and the callback that tells it the epoch."""

    def __init__(self, images, targets, seed, batch_size, scaling=None):
        super().__init__()
        self.seed, self.count, self.epoch = seed, len(images), 1
        images_tensor, targets_tensor = tf.constant(images), tf.constant(targets)

        def gather(indices):
            return to_model_input(tf.gather(images_tensor, indices), scaling), tf.gather(targets_tensor, indices)

        whole = (self.count // batch_size) * batch_size

        def cut_into_batches(order):
            batches = tf.data.Dataset.from_tensor_slices(tf.reshape(order[:whole], [-1, batch_size]))
            return batches if whole == self.count else batches.concatenate(tf.data.Dataset.from_tensors(order[whole:]))

        order = tf.data.Dataset.from_generator(self._order, output_signature=tf.TensorSpec([self.count], tf.int32))
        self.dataset = (
            order.flat_map(cut_into_batches)
            .apply(tf.data.experimental.assert_cardinality(-(-self.count // batch_size)))
            .map(gather)
        )

    def _order(self):
        yield batch_order(self.seed, self.epoch, self.count)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch + 1


def keras_fit(spec, data) -> tuple[PreparedRun, list[dict]]:
    """The run prepared as actbench prepares it, then trained by `model.fit`: the run (its model holding the
    trained weights, its early stopping and probe as they ended) and Keras' history rows."""
    keras.backend.clear_session()
    scaling = input_scaling(spec.preprocessing, data.x_train)
    run = prepare_run(spec, data, scaling)
    run.model.compile(
        optimizer=run.optimizer,
        loss=run.loss,
        metrics=[accuracy_metric(spec.output_activation, spec.output_units)],
        steps_per_execution=STEPS_PER_CALL,  # as actbench's steps run, and as it ran fit before rules 3
    )
    batches = TrainingBatches(data.x_train, run.targets[0], spec.seed, spec.training.batch_size, scaling)
    validation = tf.data.Dataset.from_tensor_slices((data.x_val, run.targets[1])).batch(1024)
    validation = validation.map(lambda x, y: (to_model_input(x, scaling), y))
    callbacks = [batches, keras.callbacks.TerminateOnNaN(), *filter(None, [run.early_stopping])]
    if run.probe:
        callbacks.append(_Probe(run.probe))
    history = run.model.fit(
        batches.dataset,
        epochs=spec.training.epochs,
        validation_data=validation,
        shuffle=False,
        verbose=0,
        callbacks=callbacks,
    )
    rows = [
        {"epoch": epoch + 1, **{key: float(values[epoch]) for key, values in history.history.items()}}
        for epoch in range(len(history.history["loss"]))
    ]
    return run, rows


class _Probe(keras.callbacks.Callback):
    """diagnostics.DiagnosticsProbe as a Keras callback."""

    def __init__(self, probe):
        super().__init__()
        self.probe = probe

    def on_train_begin(self, logs=None):
        self.probe.after_epoch(self.model, 0)

    def on_epoch_end(self, epoch, logs=None):
        self.probe.after_epoch(self.model, epoch + 1)

    def on_train_end(self, logs=None):
        self.probe.after_training(self.model)


def keras_weights(spec, data) -> list[np.ndarray]:
    """The weights `model.fit` leaves a run with."""
    return keras_fit(spec, data)[0].model.get_weights()


def initial_weights(spec, data) -> list[np.ndarray]:
    """The weights a run starts from."""
    keras.backend.clear_session()
    keras.utils.set_random_seed(spec.seed)
    return build_model(spec, model_input_shape(data.x_train), spec.output_units).get_weights()


def trained_alone(spec, data, on_epoch=None):
    """actbench's own training of one run (a pack of one): its RunResult."""
    with TrainingContext(DataRequest(spec.source)) as context:
        return train_alone(spec, data, context, on_epoch)
