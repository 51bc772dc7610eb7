"""The input pipeline: which training images each batch holds, epoch by epoch, and their conversion to floats.

The order of the training examples is ours, not Keras': `batch_order(seed, epoch, n)` is a
permutation drawn from NumPy's PCG64 seeded with (seed, epoch), so it

- differs from epoch to epoch (Keras' `fit(shuffle=True)` with a global seed set draws the same
  permutation every epoch),
- is the same in every process and on every machine for the same seed, and
- does not depend on the model: runs that differ only in their activation see the same batches
  in the same order, so they pair up by seed for the report's statistics.

Images stay uint8 until a batch is made (the full data as float32 would be four times larger);
each batch is gathered, converted and prefetched by tf.data while the previous one trains.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import tensorflow as tf


def batch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    """The order in which epoch `epoch` (1-based) visits the `n` training examples of a run with `seed`."""
    return np.random.default_rng([seed, epoch]).permutation(n).astype(np.int32)


def to_model_input(images: tf.Tensor) -> tf.Tensor:
    """uint8 images (N, H, W) or (N, H, W, C) -> float32 in [0, 1] with a channel axis."""
    scaled = tf.cast(images, tf.float32) / 255.0
    return scaled[..., tf.newaxis] if images.shape.rank == 3 else scaled


def model_input_shape(images: np.ndarray) -> tuple[int, ...]:
    """The shape of one example as the model sees it (with its channel axis)."""
    return tuple(images.shape[1:]) + ((1,) if images.ndim == 3 else ())


class TrainingBatches(keras.callbacks.Callback):
    """A tf.data dataset of (images, targets) batches in `batch_order`, and the callback that tells it the epoch.

    Keras iterates a dataset of unknown length afresh at every epoch, after `on_epoch_begin`; the
    generator then yields that epoch's permutation, which tf.data cuts into batches.
    """

    def __init__(self, images: np.ndarray, targets: np.ndarray, seed: int, batch_size: int) -> None:
        super().__init__()
        self.seed, self.count = seed, len(images)
        self.epoch = 1
        images_tensor, targets_tensor = tf.constant(images), tf.constant(targets)

        def gather(indices: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            return to_model_input(tf.gather(images_tensor, indices)), tf.gather(targets_tensor, indices)

        whole = (self.count // batch_size) * batch_size

        def cut_into_batches(order: tf.Tensor) -> tf.data.Dataset:
            # Whole batches as rows of one reshape, then the smaller last batch: tf.data handles one
            # element per batch, never one per example.
            batches = tf.data.Dataset.from_tensor_slices(tf.reshape(order[:whole], [-1, batch_size]))
            return batches if whole == self.count else batches.concatenate(tf.data.Dataset.from_tensors(order[whole:]))

        order = tf.data.Dataset.from_generator(self._order, output_signature=tf.TensorSpec([self.count], tf.int32))
        batches_per_epoch = -(-self.count // batch_size)
        self.dataset = (
            order.flat_map(cut_into_batches)
            .apply(tf.data.experimental.assert_cardinality(batches_per_epoch))  # Keras then knows the epoch's end
            # One thread gathering and converting is plenty for a batch of uint8 images; tf.data's
            # autotuned parallel map only took cores from training (benchmarks/bench_pipeline.py).
            .map(gather)
            .prefetch(2)
        )

    def _order(self):
        yield batch_order(self.seed, self.epoch, self.count)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch = epoch + 1


def evaluation_batches(images: np.ndarray, targets: np.ndarray | None, batch_size: int) -> tf.data.Dataset:
    """Fixed-order batches for validation, testing and prediction, converted on the fly."""
    convert: Callable[..., Any]
    if targets is None:
        data, convert = tf.data.Dataset.from_tensor_slices(images), to_model_input
    else:
        data = tf.data.Dataset.from_tensor_slices((images, targets))
        convert = lambda x, y: (to_model_input(x), y)  # noqa: E731
    return data.batch(batch_size).map(convert, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
