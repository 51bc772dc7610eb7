"""What a sweep keeps between its runs, in one object: created per sweep (per worker process, where runs
train in workers), passed down to whatever trains, and closed at the end. Nothing of it outlives the
sweep, so a notebook that runs experiment after experiment holds no dataset or model of an earlier one.

It holds the data (each dataset loaded once, each cut made once), what training derives from a cut
(its preprocessing's constants, its images as a tensor) and the trainers kept for the next pack of the
same structure (actbench/training/trainer.py). Plain Python: TensorFlow objects live in it, but
planning creates one without importing TensorFlow.
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from actbench.datasets.cache import DataCache, DataRequest
from actbench.pipeline import InputScaling, input_scaling

TRAINERS_KEPT = 4  # the structures a worker alternates between (packing._cut's row blocks)
# Training sets whose derived values (preprocessing constants, image tensor) are kept: a sweep trains on
# one cut at a time; a Ray worker is handed each task's data anew and must not keep every copy.
CUTS_KEPT = 2


class TrainingContext:
    def __init__(self, request: DataRequest) -> None:
        self.data = DataCache(request)
        self._gradients_before = _custom_gradients()
        self._trainers: OrderedDict[str, Any] = OrderedDict()
        # Keyed by the training images' id, each beside the images themselves, so no id is reused while kept.
        self._scalings: OrderedDict[tuple[str, int], tuple[np.ndarray, InputScaling | None]] = OrderedDict()
        self._tensors: OrderedDict[int, tuple[np.ndarray, Any]] = OrderedDict()

    def scaling(self, preprocessing: str, train_images: np.ndarray) -> InputScaling | None:
        """data.preprocessing's constants from these training images, computed once."""
        key = (preprocessing, id(train_images))
        if key not in self._scalings:
            _keep(self._scalings, key, (train_images, input_scaling(preprocessing, train_images)), CUTS_KEPT)
        return self._scalings[key][1]

    def tensor(self, train_images: np.ndarray, make: Callable[[np.ndarray], Any]) -> Any:
        """These training images as one tensor (`make` makes it) for every trainer that trains on them."""
        if id(train_images) not in self._tensors:
            _keep(self._tensors, id(train_images), (train_images, make(train_images)), CUTS_KEPT)
        return self._tensors[id(train_images)][1]

    def kept_trainer(self, structure: str, train_images: np.ndarray) -> Any | None:
        """The trainer kept for `structure` if it trains on these images (the same array, or an equal one:
        a Ray task is handed its own copy), else None."""
        trainer = self._trainers.get(structure)
        if trainer is None or not _same_images(trainer.x_train, train_images):
            return None
        self._trainers.move_to_end(structure)
        return trainer

    def keep_trainer(self, structure: str, trainer: Any) -> None:
        _keep(self._trainers, structure, trainer, TRAINERS_KEPT)

    def close(self) -> None:
        """Let go of everything: data, trainers, and Keras' global state (its graphs, names and memory)."""
        self._trainers.clear()
        self._scalings.clear()
        self._tensors.clear()
        self.data.clear()
        if "keras" in sys.modules:
            sys.modules["keras"].backend.clear_session()
        _forget_custom_gradients(self._gradients_before)

    def __enter__(self) -> TrainingContext:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _custom_gradients() -> set[str]:
    """The entries TensorFlow's gradient registry holds for tf.custom_gradient closures (none before it loads)."""
    registry = _gradient_registry()
    return {name for name in registry if name.startswith("CustomGradient-")} if registry is not None else set()


def _forget_custom_gradients(before: set[str]) -> None:
    """Drop the custom-gradient entries registered since `before`. Keras' optimizers register one each
    time a training step is traced (through tf.distribute's all-reduce), and each pins its whole graph
    in memory for good (tensorflow/tensorflow#97697): a notebook's every sweep would add its graphs. A
    closed context's steps are never called again, so their entries can go, as keras-team/tf-keras#898
    proposes for clear_session."""
    registry = _gradient_registry()
    if registry is None:
        return
    for name in _custom_gradients() - before:
        registry.pop(name, None)


def _gradient_registry() -> dict[str, Any] | None:
    ops = sys.modules.get("tensorflow.python.framework.ops")
    registry = getattr(getattr(ops, "_gradient_registry", None), "_registry", None)
    return registry if isinstance(registry, dict) else None


def _keep(kept: OrderedDict[Any, Any], key: Any, value: Any, most: int) -> None:
    """`value` under `key`, the least recently kept entries let go beyond `most`."""
    kept[key] = value
    kept.move_to_end(key)
    while len(kept) > most:
        kept.popitem(last=False)


def _same_images(mine: np.ndarray, theirs: np.ndarray) -> bool:
    return mine is theirs or (mine.shape == theirs.shape and np.array_equal(mine, theirs))
