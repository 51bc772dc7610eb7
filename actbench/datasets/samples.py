"""The small samples of real images embedded in the package, used when the full data cannot be had.

They are built by scripts/build_samples.py, which records in samples.json where every image came
from; the licence notices are in actbench/data/LICENSES.txt.
"""

from __future__ import annotations

import json
from importlib import resources

import numpy as np

from actbench.dataset_catalogue import ARRAYS
from actbench.errors import ActbenchError

Arrays = dict[str, np.ndarray]


def sample_file(name: str):
    return resources.files("actbench") / "data" / f"{name}_sample.npz"


def read_sample(name: str) -> Arrays:
    path = sample_file(name)
    try:
        with resources.as_file(path) as real_path, np.load(real_path, allow_pickle=False) as archive:
            return {key: archive[key] for key in ARRAYS}
    except (OSError, KeyError, ValueError) as exc:
        raise ActbenchError(f"{path}: the embedded sample cannot be read ({exc}); reinstall actbench") from None


def sample_provenance(name: str) -> dict:
    text = (resources.files("actbench") / "data" / "samples.json").read_text(encoding="utf-8")
    return json.loads(text)[name]
