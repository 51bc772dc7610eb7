"""uint8 images into the float32 a model takes, inside compiled steps and outputs (pipeline.py holds the
plain parts: batch order, the preprocessing's constants)."""

from __future__ import annotations

import tensorflow as tf

from actbench.pipeline import InputScaling


def to_model_input(images: tf.Tensor, scaling: InputScaling | None = None) -> tf.Tensor:
    """uint8 images (N, H, W) or (N, H, W, C) -> float32 with a channel axis: in [0, 1], then centred
    or standardised by `scaling` when given."""
    scaled = tf.cast(images, tf.float32) / 255.0
    if scaling is not None:  # per pixel, before the channel axis: a pack's (K, N, H, W) broadcasts as (N, H, W)
        scaled = scaled - scaling.mean
        scaled = scaled if scaling.std is None else scaled / scaling.std
    return scaled[..., tf.newaxis] if images.shape.rank == 3 else scaled
