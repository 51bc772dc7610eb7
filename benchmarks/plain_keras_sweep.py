"""The seeds' hand-written comparison script on Fashion-MNIST: one process, one model after another.

Its training choices (Dense 128-64, softmax, adam, batch 128, 5 epochs, validation_split=0.1, one
evaluate on the test set) for each of the hidden activations given on the command line, timing
each fit as the script does. Prints one JSON line: the whole script's seconds and, per run, its
fit seconds and test accuracy. The baseline of bench_speed.py (one activation) and
bench_sweep.py (four).
"""

import json
import sys
import time

from actbench.native_logs import quiet_tensorflow

quiet_tensorflow()
started = time.perf_counter()

import keras  # noqa: E402

from actbench.datasets import sources  # noqa: E402  (only to read the same IDX files)

arrays = sources.read_full("fashion_mnist", sources.find_full("fashion_mnist", None))
x_train = arrays["x_train"].reshape(-1, 28 * 28).astype("float32") / 255.0
x_test = arrays["x_test"].reshape(-1, 28 * 28).astype("float32") / 255.0
y_train = keras.utils.to_categorical(arrays["y_train"])
y_test = keras.utils.to_categorical(arrays["y_test"])

keras.utils.set_random_seed(0)
runs = []
for activation in sys.argv[1:]:
    model = keras.Sequential(
        [
            keras.Input(shape=(784,)),
            keras.layers.Dense(128, activation=activation),
            keras.layers.Dense(64, activation=activation),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    fit_started = time.perf_counter()
    model.fit(x_train, y_train, batch_size=128, epochs=5, verbose=0, validation_split=0.1)
    train_seconds = time.perf_counter() - fit_started
    runs.append(
        {
            "activation": activation,
            "train_seconds": train_seconds,
            "test_accuracy": model.evaluate(x_test, y_test, verbose=0)[1],
        }
    )
print(json.dumps({"script_seconds": time.perf_counter() - started, "runs": runs}))
