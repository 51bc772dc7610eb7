"""How a run file's content is encoded: CSV rows, compressed NumPy arrays, the raw test outputs, a
confusion matrix. Plain content, no names and no paths: runs.py decides which file holds what."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np


def predictions_npz(outputs: np.ndarray, output_activation: str, labels: np.ndarray, class_names: list[str]) -> bytes:
    """The model's raw test outputs, bit for bit (float32), so every metric recomputed from them is exact."""
    return arrays_npz(
        {
            "outputs": np.asarray(outputs, dtype=np.float32),
            "output_activation": np.array(output_activation),
            "labels": labels.astype(np.uint8),
            "class_names": np.array(class_names),
        }
    )


def read_predictions_npz(path: Path) -> tuple[np.ndarray, str, np.ndarray, list[str]]:
    """predictions_npz read back: (raw outputs, output activation, labels, class names)."""
    with np.load(path) as saved:
        return saved["outputs"], str(saved["output_activation"]), saved["labels"], list(saved["class_names"])


def histogram_keys(layer: str) -> tuple[str, str]:
    """The arrays of one layer's histogram in activation_histograms.npz: its counts and its bin edges."""
    return f"{layer}_counts", f"{layer}_edges"


def rows_csv(rows: list[dict[str, Any]], columns: list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def arrays_npz(arrays: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]  # numpy's stub lets **kwds reach allow_pickle: bool
    return buffer.getvalue()


def confusion_csv(confusion: np.ndarray, class_names: list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["true \\ predicted", *class_names])
    for name, row in zip(class_names, confusion):
        writer.writerow([name, *map(int, row)])
    return buffer.getvalue()
