"""From dataset labels to what a run predicts: class names, task labels and the targets Keras trains on.

Plain NumPy: the report uses the same names and labels without importing TensorFlow.
"""

from __future__ import annotations

import numpy as np

from actbench.config import TaskSpec


def task_labels(labels: np.ndarray, task: TaskSpec) -> np.ndarray:
    """Dataset labels 0 .. K-1 -> the task's labels: unchanged, or 1 for a positive class and 0 for the rest."""
    if task.type == "binary":
        return np.isin(labels, task.positive).astype(labels.dtype)
    return labels


def class_names(dataset_classes: tuple[str, ...], task: TaskSpec) -> list[str]:
    """The names of what the task predicts, from the dataset's class names (the catalogue's, or your own dataset's)."""
    names = list(dataset_classes)
    if task.type == "binary":
        positive = " or ".join(names[c] for c in task.positive)
        return [f"not {positive}", positive]
    return names


def encode_targets(labels: np.ndarray, units: int) -> np.ndarray:
    """One column of 0/1 for a single output unit, one-hot rows for two or more."""
    if units == 1:
        return labels.astype(np.float32)[:, np.newaxis]
    return np.eye(units, dtype=np.float32)[labels]
