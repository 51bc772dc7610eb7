"""One directory per run: its file names, save_record (the one writer of its files), and a reader for
each file. Code, tests and benchmarks go through these, so the layout lives here alone.

A run is done when its metrics.json exists with a done status and its spec was made under this
actbench's training rules. What a run produced is a RunOutputs (train makes it, run_files encodes
it); everything written for a run arrives as a RunRecord, from whichever process trained it; only
the driver calls save_record.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from actbench.config import TRAINING_RULES
from actbench.dataset_catalogue import DATASETS
from actbench.evaluation import class_probabilities
from actbench.results.encoding import arrays_npz, confusion_csv, predictions_npz, read_predictions_npz, rows_csv
from actbench.results.storage import read_json, remove, write_atomic, write_json

if TYPE_CHECKING:
    import pandas as pd

HISTORY_COLUMNS = ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "seconds"]
DIAGNOSTICS_COLUMNS = [
    "epoch",
    "layer",
    "name",
    "units",
    "dead_fraction",
    "saturated_fraction",
    "mean",
    "std",
    "grad_norm",
]
SPEC, METRICS = "spec.json", "metrics.json"  # metrics.json is written last: it marks a complete run
HISTORY, PREDICTIONS, CONFUSION = "history.csv", "predictions.npz", "confusion_matrix.csv"
DIAGNOSTICS, HISTOGRAMS = "diagnostics.csv", "activation_histograms.npz"  # only with diagnostics on
RUN_FILES = (HISTORY, PREDICTIONS, CONFUSION, DIAGNOSTICS, HISTOGRAMS)
CONFIG, PLAN = "config.yaml", "plan.json"  # beside runs/: the latest config and the run ids it expands to
SELECTION = "selection.json"  # beside runs/, for a tuned experiment: its choices and every score behind them


class RunStatus(str, Enum):
    """How a run ended, as metrics.json and results.csv record it (str-valued: the files hold the plain word)."""

    FINISHED = "finished"  # trained and tested
    DIVERGED = "diverged"  # its loss stopped being finite: a result about the activation, not an error
    FAILED = "failed"  # an error stopped it (the error policy: actbench.executors); the next `run` tries it again

    def __str__(self) -> str:  # f-strings and str() give the word on every Python version
        return self.value

    def is_done(self) -> bool:
        """A done run is kept: the next `run` skips it."""
        return self is not RunStatus.FAILED


DONE_STATUSES = frozenset(status.value for status in RunStatus if status.is_done())  # for the plain words files hold


@dataclass
class TestOutputs:
    """The test set as the model saw it: its raw outputs (float32, every metric is recomputed exactly from
    them, see read_predictions), the output activation, the task's labels, class names and confusion matrix."""

    __test__ = False  # not a pytest test class, whatever its name

    outputs: np.ndarray  # (N, units), as the model produced them
    output_activation: str
    labels: np.ndarray
    class_names: list[str]
    confusion: np.ndarray  # rows: true class, columns: predicted


@dataclass
class RunOutputs:
    """What a run produced beside its metrics, each becoming one file (see run_files); None writes none."""

    history: list[dict[str, float]] = field(default_factory=list)  # one row per epoch
    test: TestOutputs | None = None  # predictions.npz and confusion_matrix.csv; None for a diverged run
    diagnostics: list[dict[str, Any]] | None = None  # the probe's rows (DIAGNOSTICS_COLUMNS), when asked for
    histograms: dict[str, np.ndarray] | None = None  # by histogram_keys(layer), when asked for


@dataclass
class RunRecord:
    """Everything the driver writes for a run: its status, metrics.json's content and its files as bytes (see run_files)."""

    run_id: str
    status: RunStatus
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


def run_status(exp_dir: Path, run_id: str) -> RunStatus | None:
    """The recorded status of a run, or None if it never completed, its files are unreadable, or it
    was made under other training rules (a stale run is never done)."""
    try:
        spec, metrics = read_run(run_dir(exp_dir, run_id))
        return None if is_stale(spec) else RunStatus(metrics.get("status"))
    except (OSError, ValueError, AttributeError):
        return None


def is_done(exp_dir: Path, run_id: str) -> bool:
    status = run_status(exp_dir, run_id)
    return status is not None and status.is_done()


def save_experiment(exp_dir: Path, config: dict[str, Any], run_ids: list[str]) -> None:
    write_atomic(exp_dir / CONFIG, yaml.safe_dump(config, sort_keys=False))
    write_json(exp_dir / PLAN, {"run_ids": run_ids})


def save_selection(exp_dir: Path, selection: dict[str, Any]) -> None:
    write_json(exp_dir / SELECTION, selection)


def read_selection(exp_dir: Path) -> dict[str, Any] | None:
    """A tuned experiment's selection.json as written (actbench/tuning.py), or None where there is none or
    it cannot be read."""
    try:
        data = read_json(exp_dir / SELECTION)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def read_config(exp_dir: Path) -> dict[str, Any]:
    """The validated config of the latest `run` as config.yaml holds it; OSError or yaml.YAMLError when it
    is missing or unreadable, TypeError when it is not a mapping."""
    data = yaml.safe_load((exp_dir / CONFIG).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise TypeError(f"{exp_dir / CONFIG}: not a mapping")
    return data


def read_plan(exp_dir: Path) -> list[str]:
    """The run ids of the latest `run` (the report's default scope); OSError, ValueError, KeyError or
    TypeError when plan.json is missing or unreadable."""
    return list(read_json(exp_dir / PLAN)["run_ids"])


def run_files(outputs: RunOutputs) -> dict[str, str | bytes]:
    """A RunRecord's files by name, encoded from what the run produced."""
    files: dict[str, str | bytes] = {HISTORY: rows_csv(outputs.history, HISTORY_COLUMNS)}
    if outputs.test is not None:
        test = outputs.test
        files[PREDICTIONS] = predictions_npz(test.outputs, test.output_activation, test.labels, test.class_names)
        files[CONFUSION] = confusion_csv(test.confusion, test.class_names)
    if outputs.diagnostics is not None:
        files[DIAGNOSTICS] = rows_csv(outputs.diagnostics, DIAGNOSTICS_COLUMNS)
    if outputs.histograms:
        files[HISTOGRAMS] = arrays_npz(outputs.histograms)
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
    outputs, output_activation, labels, class_names = read_predictions_npz(directory / PREDICTIONS)
    return class_probabilities(outputs, output_activation), labels, class_names


def is_stale(spec: dict[str, Any]) -> bool:
    """Made under other training rules than this actbench's (runs from before the field existed are version 1)."""
    return spec.get("training_rules", 1) != TRAINING_RULES


def output_units(spec: dict[str, Any]) -> int:
    """A run's output width; specs from before it was recorded had one unit per class of a built-in dataset."""
    return spec.get("output_units") or DATASETS[spec["dataset"]].classes
