"""The input pipeline: every epoch a new order, the same for every run with the seed, cut into the batches
actbench trains on, and the reference (tests/helpers_keras.py) feeding Keras' fit the very same batches."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers_keras import TrainingBatches

from actbench.pipeline import batch_order, epoch_batches
from actbench.training.inputs import to_model_input


def test_batch_order_is_a_permutation_per_epoch_fixed_by_seed_and_epoch():
    first, second = batch_order(3, 1, 1000), batch_order(3, 2, 1000)
    assert sorted(first) == list(range(1000)) and sorted(second) == list(range(1000))
    assert not np.array_equal(first, second)  # each epoch reshuffles
    assert np.array_equal(first, batch_order(3, 1, 1000))  # same seed and epoch: same order
    assert not np.array_equal(first, batch_order(4, 1, 1000))
    # Fixed by the algorithm (PCG64 seeded with [seed, epoch]), not by the process: these values
    # are what every machine draws, so a change of generator shows up here.
    assert batch_order(0, 1, 10).tolist() == np.random.default_rng([0, 1]).permutation(10).tolist()


def indexed_images(count: int) -> np.ndarray:
    """Plumbing data: image i carries its own index in its first two pixels."""
    images = np.zeros((count, 4, 4), dtype=np.uint8)
    images[:, 0, 0], images[:, 0, 1] = np.arange(count) % 256, np.arange(count) // 256
    return images


class SeenByTraining(keras.layers.Layer):
    """Records which example indices each training step receives (eager mode only)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[np.ndarray] = []

    def call(self, x, training=None):
        if training:
            pixels = np.rint(np.asarray(x)[:, 0, 0, 0] * 255) + 256 * np.rint(np.asarray(x)[:, 0, 1, 0] * 255)
            self.seen.append(pixels.astype(int))
        return x


@pytest.mark.parametrize("batch_size", [32, 30])  # 300 images: whole batches only, and a smaller last batch
def test_keras_fit_trains_each_epoch_in_that_epochs_order(batch_size):
    images, targets = indexed_images(300), np.zeros((300, 1), dtype=np.float32)
    batches = TrainingBatches(images, targets, seed=5, batch_size=batch_size)
    seen = SeenByTraining()
    model = keras.Sequential([keras.Input((4, 4, 1)), seen, keras.layers.Flatten(), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", run_eagerly=True)
    model.fit(batches.dataset, epochs=3, callbacks=[batches], shuffle=False, verbose=0)
    steps = -(-300 // batch_size)
    trained = seen.seen[-3 * steps :]  # Keras may look at one batch before training to build itself
    for epoch in range(3):
        order = np.concatenate(trained[epoch * steps : (epoch + 1) * steps])
        assert order.tolist() == batch_order(5, epoch + 1, 300).tolist()
    assert not np.array_equal(np.concatenate(trained[:steps]), np.concatenate(trained[steps : 2 * steps]))


@pytest.mark.parametrize("pad_last", [True, False])
def test_an_epoch_is_cut_into_each_models_batches_in_its_own_order(pad_last):
    orders = np.stack([batch_order(seed, 1, 10) for seed in (0, 1)])  # two models, 10 images, batches of 4
    chunks = epoch_batches(orders, 4, pad_last)
    assert len(chunks) == (1 if pad_last else 2)  # one shape where padded
    batches = [(chunk[:, b], size) for chunk, sizes in chunks for b, size in enumerate(sizes)]
    assert [size for _, size in batches] == [4, 4, 2] and all(len(batch[0]) == 4 for batch, _ in batches[:2])
    for model in (0, 1):
        real = np.concatenate([batch[model][:size] for batch, size in batches])
        assert real.tolist() == orders[model].tolist()  # every image once, in the model's own order
    last = batches[-1][0]
    assert last.shape[1] == (4 if pad_last else 2)
    if pad_last:  # padded with repeats of its last image, which weigh nothing
        assert last[:, 2:].tolist() == [[orders[0, -1]] * 2, [orders[1, -1]] * 2]


def test_images_become_unit_floats_with_a_channel_axis():
    converted = to_model_input(tf.constant(indexed_images(10))).numpy()
    assert converted.shape == (10, 4, 4, 1) and converted.dtype == np.float32
    assert np.rint(converted[:, 0, 0, 0] * 255).tolist() == list(range(10))
