"""One directory per run: save_record, the one writer of its files, and their readers (read_run for
spec.json and metrics.json, read_history, read_predictions).

A run is done when its metrics.json exists with a done status and its spec was made under this
actbench's training rules. Everything written for a run arrives as a RunRecord, from whichever
process trained it; only the driver calls save_record.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from actbench.config import TRAINING_RULES
from actbench.evaluation import class_probabilities
from actbench.results.storage import read_json, write_atomic, write_json

DONE_STATUSES = ("finished", "diverged")
HISTORY_COLUMNS = ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "seconds"]
RUN_FILES = ("history.csv", "predictions.npz", "confusion_matrix.csv", "diagnostics.csv", "activation_histograms.npz")


@dataclass
class RunRecord:
    """Everything a run produced: its status, metrics.json's content and its files as bytes."""

    run_id: str
    status: str  # "finished" | "diverged" | "failed"
    metrics: dict[str, Any]
    files: dict[str, str | bytes] = field(default_factory=dict)


def experiment_dir(results_root: Path, experiment: str) -> Path:
    return results_root / experiment


def run_dir(exp_dir: Path, run_id: str) -> Path:
    return exp_dir / "runs" / run_id


def run_status(exp_dir: Path, run_id: str) -> str | None:
    """The recorded status of a run, or None if it never completed, its files are unreadable, or it
    was made under other training rules (a stale run is never done)."""
    try:
        spec, metrics = read_run(run_dir(exp_dir, run_id))
        return None if is_stale(spec) else metrics.get("status")
    except (OSError, ValueError, AttributeError):
        return None


def is_done(exp_dir: Path, run_id: str) -> bool:
    return run_status(exp_dir, run_id) in DONE_STATUSES


def save_experiment(exp_dir: Path, config: dict[str, Any], run_ids: list[str]) -> None:
    write_atomic(exp_dir / "config.yaml", yaml.safe_dump(config, sort_keys=False))
    write_json(exp_dir / "plan.json", {"run_ids": run_ids})


def save_record(exp_dir: Path, spec: dict[str, Any], record: RunRecord) -> Path:
    """Write one run: spec.json, its files, then metrics.json last, so that it marks a complete run.

    The older metrics.json and files (a --force rerun, or a failed attempt) are removed first, so
    an interruption leaves the run incomplete, never new files beside old metrics.
    """
    directory = run_dir(exp_dir, record.run_id)
    write_json(directory / "spec.json", {**spec, "run_id": record.run_id})
    (directory / "metrics.json").unlink(missing_ok=True)
    for name in RUN_FILES:
        (directory / name).unlink(missing_ok=True)
    for name, content in record.files.items():
        write_atomic(directory / name, content)
    write_json(directory / "metrics.json", {"status": record.status, "run_id": record.run_id, **record.metrics})
    return directory


def read_run(directory: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """A run's spec.json and metrics.json; OSError or ValueError when either is missing or unreadable."""
    return read_json(directory / "spec.json"), read_json(directory / "metrics.json")


def read_history(directory: Path) -> list[dict[str, float]]:
    """A run's history.csv as rows of numbers (empty when it has none, e.g. a failed run); blanks left out."""
    path = directory / "history.csv"
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8") as file:
        return [{k: float(v) for k, v in row.items() if v not in ("", None)} for row in csv.DictReader(file)]


def is_stale(spec: dict[str, Any]) -> bool:
    """Made under other training rules than this actbench's (runs from before the field existed are version 1)."""
    return spec.get("training_rules", 1) != TRAINING_RULES


def history_csv(history: list[dict[str, float]]) -> str:
    return rows_csv(history, HISTORY_COLUMNS)


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


def rows_csv(rows: list[dict[str, Any]], columns: list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def arrays_npz(arrays: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def read_predictions(directory: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """A run's test probabilities, exactly those its metrics were computed from, labels and class names."""
    with np.load(directory / "predictions.npz") as saved:
        probabilities = class_probabilities(saved["outputs"], str(saved["output_activation"]))
        return probabilities, saved["labels"], list(saved["class_names"])


def confusion_csv(confusion: np.ndarray, class_names: list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["true \\ predicted", *class_names])
    for name, row in zip(class_names, confusion):
        writer.writerow([name, *map(int, row)])
    return buffer.getvalue()
