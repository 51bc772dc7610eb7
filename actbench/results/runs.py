"""One directory per run: its file names, save_record (the one writer of its files), and a reader for
each file. Code, tests and benchmarks go through these, so the layout lives here alone.

A run is done when its metrics.json exists with a done status and its spec was made under this
actbench's training rules. Everything written for a run arrives as a RunRecord, from whichever
process trained it; only the driver calls save_record.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from actbench.config import TRAINING_RULES
from actbench.datasets.catalogue import DATASETS
from actbench.evaluation import class_probabilities
from actbench.results.encoding import arrays_npz, confusion_csv, predictions_npz, rows_csv
from actbench.results.storage import read_json, remove, write_atomic, write_json

if TYPE_CHECKING:
    import pandas as pd

DONE_STATUSES = ("finished", "diverged")
HISTORY_COLUMNS = ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "seconds"]
SPEC, METRICS = "spec.json", "metrics.json"  # metrics.json is written last: it marks a complete run
HISTORY, PREDICTIONS, CONFUSION = "history.csv", "predictions.npz", "confusion_matrix.csv"
DIAGNOSTICS, HISTOGRAMS = "diagnostics.csv", "activation_histograms.npz"  # only with diagnostics on
RUN_FILES = (HISTORY, PREDICTIONS, CONFUSION, DIAGNOSTICS, HISTOGRAMS)
CONFIG, PLAN = "config.yaml", "plan.json"  # beside runs/: the latest config and the run ids it expands to


@dataclass
class RunRecord:
    """Everything a run produced: its status, metrics.json's content and its files as bytes (see run_files)."""

    run_id: str
    status: str  # "finished" | "diverged" | "failed"
    metrics: dict[str, Any]
    files: dict[str, str | bytes] = field(default_factory=dict)


def experiment_dir(results_root: Path, experiment: str) -> Path:
    return results_root / experiment


def runs_dir(exp_dir: Path) -> Path:
    return exp_dir / "runs"


def run_dir(exp_dir: Path, run_id: str) -> Path:
    return runs_dir(exp_dir) / run_id


def is_experiment_dir(path: Path) -> bool:
    """A folder `actbench run` wrote runs into (rather than a results folder holding several)."""
    return runs_dir(path).is_dir()


def run_directories(exp_dir: Path) -> list[Path]:
    """Every run folder of an experiment, sorted; hidden entries (temporary files) left out."""
    runs = runs_dir(exp_dir)
    return [d for d in sorted(runs.iterdir()) if d.is_dir() and not d.name.startswith(".")] if runs.is_dir() else []


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
    write_atomic(exp_dir / CONFIG, yaml.safe_dump(config, sort_keys=False))
    write_json(exp_dir / PLAN, {"run_ids": run_ids})


def read_plan(exp_dir: Path) -> list[str]:
    """The run ids of the latest `run` (the report's default scope); OSError, ValueError, KeyError or
    TypeError when plan.json is missing or unreadable."""
    return list(read_json(exp_dir / PLAN)["run_ids"])


def run_files(
    history: list[dict[str, float]],
    predictions: tuple[np.ndarray, str, np.ndarray, list[str]] | None = None,
    confusion: tuple[np.ndarray, list[str]] | None = None,
    diagnostics: tuple[list[dict[str, Any]], list[str]] | None = None,
    histograms: dict[str, np.ndarray] | None = None,
) -> dict[str, str | bytes]:
    """A RunRecord's files by name, from what the run produced; None (or no histograms) writes no file.

    history: one row per epoch; predictions: the test set's (raw outputs, output activation,
    labels, class names); confusion: (counts, class names); diagnostics: the probe's (rows, columns);
    histograms: arrays by name, `<layer>_counts` and `<layer>_edges`.
    """
    files: dict[str, str | bytes] = {HISTORY: rows_csv(history, HISTORY_COLUMNS)}
    if predictions is not None:
        files[PREDICTIONS] = predictions_npz(*predictions)
    if confusion is not None:
        files[CONFUSION] = confusion_csv(*confusion)
    if diagnostics is not None:
        files[DIAGNOSTICS] = rows_csv(*diagnostics)
    if histograms:
        files[HISTOGRAMS] = arrays_npz(histograms)
    return files


def save_record(exp_dir: Path, spec: dict[str, Any], record: RunRecord) -> Path:
    """Write one run: spec.json, its files, then metrics.json last, so that it marks a complete run.

    The older metrics.json and files (a --force rerun, or a failed attempt) are removed first, so
    an interruption leaves the run incomplete, never new files beside old metrics.
    """
    directory = run_dir(exp_dir, record.run_id)
    write_json(directory / SPEC, {**spec, "run_id": record.run_id})
    remove(directory / METRICS)
    for name in RUN_FILES:
        remove(directory / name)
    for name, content in record.files.items():
        write_atomic(directory / name, content)
    write_json(directory / METRICS, {"status": record.status, "run_id": record.run_id, **record.metrics})
    return directory


def has_metrics(directory: Path) -> bool:
    """The run completed (finished, diverged or failed): its metrics.json, written last, exists."""
    return (directory / METRICS).exists()


def ended_at(directory: Path) -> float:
    """When the run ended (seconds since the epoch): the time its metrics.json was written."""
    return (directory / METRICS).stat().st_mtime


def read_spec(directory: Path) -> dict[str, Any]:
    """A run's spec.json; OSError or ValueError when it is missing or unreadable."""
    return read_json(directory / SPEC)


def read_metrics(directory: Path) -> dict[str, Any]:
    """A run's metrics.json (its status, final metrics, environment); OSError or ValueError when missing or unreadable."""
    return read_json(directory / METRICS)


def read_run(directory: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """A run's spec.json and metrics.json; OSError or ValueError when either is missing or unreadable."""
    return read_spec(directory), read_metrics(directory)


def read_history(directory: Path) -> list[dict[str, float]]:
    """A run's history.csv as rows of numbers (empty when it has none, e.g. a failed run); blanks left out."""
    path = directory / HISTORY
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8") as file:
        return [{k: float(v) for k, v in row.items() if v not in ("", None)} for row in csv.DictReader(file)]


def read_history_frame(directory: Path) -> pd.DataFrame:
    """A run's history.csv as a table, for the plots; OSError or ValueError when missing or unreadable."""
    import pandas as pd

    return pd.read_csv(directory / HISTORY)


def read_confusion(directory: Path) -> pd.DataFrame:
    """A run's confusion matrix: rows the true class, columns the predicted one, both named; OSError or ValueError
    when it has none (a failed run, or one from before confusion matrices were saved)."""
    import pandas as pd

    return pd.read_csv(directory / CONFUSION, index_col=0)


def read_diagnostics(directory: Path) -> pd.DataFrame | None:
    """A run's diagnostics.csv (one row per epoch and layer), None when it ran without diagnostics;
    OSError or ValueError when unreadable."""
    import pandas as pd

    path = directory / DIAGNOSTICS
    return pd.read_csv(path) if path.exists() else None


def read_histograms(directory: Path) -> dict[str, np.ndarray] | None:
    """A run's activation histograms (`<layer>_counts`, `<layer>_edges`), None when it ran without diagnostics."""
    path = directory / HISTOGRAMS
    if not path.exists():
        return None
    with np.load(path) as saved:
        return {name: saved[name] for name in saved.files}


def read_predictions(directory: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """A run's test probabilities, exactly those its metrics were computed from, labels and class names."""
    with np.load(directory / PREDICTIONS) as saved:
        probabilities = class_probabilities(saved["outputs"], str(saved["output_activation"]))
        return probabilities, saved["labels"], list(saved["class_names"])


def is_stale(spec: dict[str, Any]) -> bool:
    """Made under other training rules than this actbench's (runs from before the field existed are version 1)."""
    return spec.get("training_rules", 1) != TRAINING_RULES


def output_units(spec: dict[str, Any]) -> int:
    """A run's output width; specs from before it was recorded had one unit per class of a built-in dataset."""
    return spec.get("output_units") or DATASETS[spec["dataset"]].classes
