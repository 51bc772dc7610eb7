"""The input pipeline: which training images each batch holds, epoch by epoch, and their conversion to floats.

The order of the training examples is ours, not Keras': `batch_order(seed, epoch, n)` is a
permutation drawn from NumPy's PCG64 seeded with (seed, epoch), so it

- differs from epoch to epoch (Keras' `fit(shuffle=True)` with a global seed set draws the same
  permutation every epoch),
- is the same in every process and on every machine for the same seed, and
- does not depend on the model: runs that differ only in their activation see the same batches
  in the same order, so they pair up by seed for the report's statistics.

Images stay uint8 until a batch is made (the full data as float32 would be four times larger);
each batch is gathered, converted and prefetched by tf.data while the previous one trains. The
conversion is the run's `data.preprocessing`: pixels/255 (scale), less the per-pixel mean of the
images the run trains on (center), or divided by their standard deviation too (standardize, as
scikit-learn's StandardScaler: a pixel of standard deviation 0 is divided by 1). Alone and packed,
a run's batches, validation and test images all go through `to_model_input` with one InputScaling.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import tensorflow as tf


def batch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    """The order in which epoch `epoch` (1-based) visits the `n` training examples of a run with `seed`."""
    return np.random.default_rng([seed, epoch]).permutation(n).astype(np.int32)


@dataclass(frozen=True)
class InputScaling:
    """What `center` and `standardize` take from the scaled pixels: a per-pixel mean, and for
    standardize a per-pixel standard deviation (float32, one image's shape)."""

    mean: np.ndarray
    std: np.ndarray | None = None


def to_model_input(images: tf.Tensor, scaling: InputScaling | None = None) -> tf.Tensor:
    """uint8 images (N, H, W) or (N, H, W, C) -> float32 with a channel axis: in [0, 1], then centred
    or standardised by `scaling` when given."""
    scaled = tf.cast(images, tf.float32) / 255.0
    if scaling is not None:  # per pixel, before the channel axis: a pack's (K, N, H, W) broadcasts as (N, H, W)
        scaled = scaled - scaling.mean
        scaled = scaled if scaling.std is None else scaled / scaling.std
    return scaled[..., tf.newaxis] if images.shape.rank == 3 else scaled


# The last training split's scaling: the runs of a pack, and a sweep's runs of one cut, share it.
_last_scaling: tuple[Any, str, InputScaling | None] = (lambda: None, "", None)


def input_scaling(preprocessing: str, train_images: np.ndarray) -> InputScaling | None:
    """The InputScaling of `preprocessing` from the images a run trains on (none for `scale`): the
    per-pixel mean and standard deviation of pixels/255, summed in float64 a slice at a time."""
    global _last_scaling
    if preprocessing == "scale":
        return None
    images, kind, scaling = _last_scaling
    if images() is train_images and kind == preprocessing:
        return scaling
    total = np.zeros(train_images.shape[1:], np.float64)
    squares = np.zeros_like(total)
    for start in range(0, len(train_images), 4096):
        part = train_images[start : start + 4096].astype(np.float64) / 255.0
        total += part.sum(axis=0)
        squares += (part * part).sum(axis=0)
    mean = total / len(train_images)
    std = None
    if preprocessing == "standardize":
        std = np.sqrt(np.maximum(squares / len(train_images) - mean * mean, 0.0))
        std = np.where(std > 1e-12, std, 1.0).astype(np.float32)  # StandardScaler's rule for constant pixels
    scaling = InputScaling(mean.astype(np.float32), std)
    _last_scaling = (weakref.ref(train_images), preprocessing, scaling)
    return scaling


def model_input_shape(images: np.ndarray) -> tuple[int, ...]:
    """The shape of one example as the model sees it (with its channel axis)."""
    return tuple(images.shape[1:]) + ((1,) if images.ndim == 3 else ())


class TrainingBatches(keras.callbacks.Callback):
    """A tf.data dataset of (images, targets) batches in `batch_order`, and the callback that tells it the epoch.

    Keras iterates a dataset of unknown length afresh at every epoch, after `on_epoch_begin`; the
    generator then yields that epoch's permutation, which tf.data cuts into batches.
    """

    def __init__(
        self, images: np.ndarray, targets: np.ndarray, seed: int, batch_size: int, scaling: InputScaling | None = None
    ) -> None:
        super().__init__()
        self.seed, self.count = seed, len(images)
        self.epoch = 1
        images_tensor, targets_tensor = tf.constant(images), tf.constant(targets)

        def gather(indices: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            return to_model_input(tf.gather(images_tensor, indices), scaling), tf.gather(targets_tensor, indices)

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


def evaluation_batches(
    images: np.ndarray, targets: np.ndarray | None, batch_size: int, scaling: InputScaling | None = None
) -> tf.data.Dataset:
    """Fixed-order batches for validation, testing and prediction, converted on the fly."""
    convert: Callable[..., Any]
    if targets is None:
        data = tf.data.Dataset.from_tensor_slices(images)
        convert = lambda x: to_model_input(x, scaling)  # noqa: E731
    else:
        data = tf.data.Dataset.from_tensor_slices((images, targets))
        convert = lambda x, y: (to_model_input(x, scaling), y)  # noqa: E731
    return data.batch(batch_size).map(convert, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
