"""The input pipeline against Keras' own shuffling of float arrays, in one process, alternating. Prints figures.

    python benchmarks/bench_pipeline.py [--repeats 4]

Fashion-MNIST full (apt-get install dataset-fashion-mnist). Same model and settings for both
(MLP 128-64 relu, softmax, adam, batch 128, 5 epochs, 50 steps per execution, validation each
epoch): `keras fit(float32 arrays, shuffle=True)` as actbench trained before training rules 2,
against actbench.pipeline (uint8 until a batch is made, reshuffled per epoch). Also the pipeline
alone (iterating 5 epochs of batches without training) and the memory the training images take.
"""

from __future__ import annotations

import argparse
import statistics
import time

import keras
import numpy as np
from keras.src.trainers.data_adapters.array_data_adapter import ArrayDataAdapter

from actbench.datasets import load_dataset, split_dataset
from actbench.models import STEPS_PER_EXECUTION
from actbench.pipeline import TrainingBatches, evaluation_batches

EPOCHS = 5


def model() -> keras.Model:
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    layers = [keras.Input((28, 28, 1)), keras.layers.Flatten()]
    for units in (128, 64):
        layers += [keras.layers.Dense(units), keras.layers.Activation("relu")]
    built = keras.Sequential([*layers, keras.layers.Dense(10), keras.layers.Activation("softmax")])
    built.compile("adam", "categorical_crossentropy", metrics=["accuracy"], steps_per_execution=STEPS_PER_EXECUTION)
    return built


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    repeats = parser.add_argument("--repeats", type=int, default=4) and parser.parse_args().repeats
    data = split_dataset(load_dataset("fashion_mnist", "full"), None, None, 0.1)
    y, y_val = (np.eye(10, dtype=np.float32)[labels] for labels in (data.y_train, data.y_val))
    fit: dict[str, list[float]] = {"keras, float32 arrays": [], "actbench pipeline": []}
    alone: dict[str, list[float]] = {"keras, float32 arrays": [], "actbench pipeline": []}
    for _ in range(repeats):
        x, x_val = ((images.astype(np.float32) / 255.0)[..., np.newaxis] for images in (data.x_train, data.x_val))
        started = time.perf_counter()
        model().fit(
            x,
            y,
            batch_size=128,
            epochs=EPOCHS,
            validation_data=(x_val, y_val),
            validation_batch_size=1024,
            shuffle=True,
            verbose=0,
        )
        fit["keras, float32 arrays"].append(time.perf_counter() - started)
        batches = TrainingBatches(data.x_train, y, seed=0, batch_size=128)
        started = time.perf_counter()
        model().fit(
            batches.dataset,
            epochs=EPOCHS,
            validation_data=evaluation_batches(data.x_val, y_val, 1024),
            callbacks=[batches],
            shuffle=False,
            verbose=0,
        )
        fit["actbench pipeline"].append(time.perf_counter() - started)

        started = time.perf_counter()
        adapter = ArrayDataAdapter(x, y, batch_size=128, shuffle=True)
        for _ in range(EPOCHS):
            for _ in adapter.get_tf_dataset():
                pass
        alone["keras, float32 arrays"].append(time.perf_counter() - started)
        started = time.perf_counter()
        for epoch in range(EPOCHS):
            batches.on_epoch_begin(epoch)
            for _ in batches.dataset:
                pass
        alone["actbench pipeline"].append(time.perf_counter() - started)
    print(f"Fashion-MNIST full, MLP 128-64, {EPOCHS} epochs; medians of {repeats}, alternating in one process")
    print(f"{'':24}{'fit s':>8}{'batches alone s':>17}{'training images MB':>20}")
    megabytes = {"keras, float32 arrays": data.x_train.size * 4 / 1e6, "actbench pipeline": data.x_train.nbytes / 1e6}
    for name in fit:
        print(
            f"{name:24}{statistics.median(fit[name]):8.2f}{statistics.median(alone[name]):17.2f}{megabytes[name]:20.0f}"
        )
    print("all fits:", {name: [round(s, 2) for s in values] for name, values in fit.items()})


if __name__ == "__main__":
    main()
