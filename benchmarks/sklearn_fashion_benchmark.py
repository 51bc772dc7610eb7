"""The Fashion-MNIST benchmark's own MLPClassifier setup, run with today's scikit-learn: what the source's
setup gives on this machine, beside what configs/reference/fashion_mnist_mlp_benchmark.yaml measures in Keras.

As benchmark/runner.py of zalandoresearch/fashion-mnist does it: StandardScaler fitted on the 60,000 training
images, the training data shuffled, MLPClassifier with only `activation` and `hidden_layer_sizes` set, and
`n_iter_no_change=2`, which is scikit-learn 0.19's fixed stop rule (more than two epochs in a row whose
training loss is not below the best minus tol); the test accuracy on the 10,000 test images.

    python benchmarks/sklearn_fashion_benchmark.py --data-dir /usr/share/datasets/fashion-mnist \
        --rows relu:100 tanh:100 --repeats 1

One JSON line per fit: activation, hidden sizes, repeat, test accuracy, epochs run, seconds.
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from pathlib import Path

import numpy as np
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler
from sklearn.utils import shuffle


def load(folder: Path, kind: str) -> tuple[np.ndarray, np.ndarray]:
    with gzip.open(folder / f"{kind}-labels-idx1-ubyte.gz") as labels:
        y = np.frombuffer(labels.read(), np.uint8, offset=8)
    with gzip.open(folder / f"{kind}-images-idx3-ubyte.gz") as images:
        x = np.frombuffer(images.read(), np.uint8, offset=16).reshape(len(y), 784)
    return x.astype(np.float64), y


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="the four IDX .gz files of Fashion-MNIST")
    parser.add_argument(
        "--rows", nargs="+", default=["relu:100", "tanh:100"], help="activation:sizes, e.g. relu:100-10"
    )
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    x_train, y_train = load(args.data_dir, "train")
    x_test, y_test = load(args.data_dir, "t10k")
    scaler = StandardScaler().fit(x_train)
    x_train, x_test = scaler.transform(x_train), scaler.transform(x_test)
    for row in args.rows:
        activation, sizes = row.split(":")
        hidden = tuple(int(units) for units in sizes.split("-"))
        for repeat in range(args.repeats):
            start = time.perf_counter()
            x, y = shuffle(x_train, y_train, random_state=repeat)
            model = MLPClassifier(hidden, activation=activation, n_iter_no_change=2, random_state=repeat).fit(x, y)
            print(
                json.dumps(
                    {
                        "activation": activation,
                        "hidden": list(hidden),
                        "repeat": repeat,
                        "test_accuracy": model.score(x_test, y_test),
                        "epochs": model.n_iter_,
                        "seconds": round(time.perf_counter() - start, 1),
                    }
                ),
                flush=True,
            )


if __name__ == "__main__":
    main()
