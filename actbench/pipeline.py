"""The input pipeline's plain parts: which training images each batch holds, epoch by epoch, and what
`data.preprocessing` takes from the training images. NumPy only; the conversion to floats happens in
the compiled steps (actbench/training/trainer.py, to_model_input).

The order of the training examples is ours, not Keras': `batch_order(seed, epoch, n)` is a
permutation drawn from NumPy's PCG64 seeded with (seed, epoch), so it

- differs from epoch to epoch (Keras' `fit(shuffle=True)` with a global seed set draws the same
  permutation every epoch),
- is the same in every process and on every machine for the same seed, and
- does not depend on the model: runs that differ only in their activation see the same batches
  in the same order, so they pair up by seed for the report's statistics.

Images stay uint8 until a batch is made (the full data as float32 would be four times larger). The
conversion is the run's `data.preprocessing`: pixels/255 (scale), less the per-pixel mean of the
images the run trains on (center), or divided by their standard deviation too (standardize, as
scikit-learn's StandardScaler: a pixel of standard deviation 0 is divided by 1). A run's batches,
validation and test images all go through one InputScaling.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def batch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    """The order in which epoch `epoch` (1-based) visits the `n` training examples of a run with `seed`."""
    return np.random.default_rng([seed, epoch]).permutation(n).astype(np.int32)


def epoch_batches(orders: np.ndarray, batch_size: int, pad_last: bool) -> list[tuple[np.ndarray, np.ndarray]]:
    """An epoch's batches, each model in its own order (`orders`: [models, images]), as chunks of
    ([models, batches, batch_size] image indices, [batches] real images per batch). The last, smaller
    batch is padded with repeats of its last index (weighing nothing) where `pad_last`, so every batch
    has one shape; else it is a chunk of its own."""
    models, n = orders.shape
    whole = n // batch_size
    chunks = [(orders[:, : whole * batch_size].reshape(models, whole, batch_size), np.full(whole, batch_size, "int32"))]
    rest = n - whole * batch_size
    if rest:
        last = orders[:, whole * batch_size :]
        if pad_last:
            padded = np.pad(last, ((0, 0), (0, batch_size - rest)), mode="edge")[:, np.newaxis, :]
            chunks[0] = (np.concatenate([chunks[0][0], padded], axis=1), np.append(chunks[0][1], rest).astype("int32"))
        else:
            chunks.append((last[:, np.newaxis, :], np.array([rest], "int32")))
    return [chunk for chunk in chunks if chunk[0].shape[1]]


@dataclass(frozen=True)
class InputScaling:
    """What `center` and `standardize` take from the scaled pixels: a per-pixel mean, and for
    standardize a per-pixel standard deviation (float32, one image's shape)."""

    mean: np.ndarray
    std: np.ndarray | None = None


def input_scaling(preprocessing: str, train_images: np.ndarray) -> InputScaling | None:
    """The InputScaling of `preprocessing` from the images a run trains on (none for `scale`): the
    per-pixel mean and standard deviation of pixels/255, summed in float64 a slice at a time."""
    if preprocessing == "scale":
        return None
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
    return InputScaling(mean.astype(np.float32), std)


def model_input_shape(images: np.ndarray) -> tuple[int, ...]:
    """The shape of one example as the model sees it (with its channel axis)."""
    return tuple(images.shape[1:]) + ((1,) if images.ndim == 3 else ())
