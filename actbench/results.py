"""The results layout on disk: one directory per run, written atomically, and results.csv rebuilt from them.

    results/<experiment>/config.yaml              the validated config of the latest `run`
    results/<experiment>/plan.json                run ids that config expands to
    results/<experiment>/runs/<run_id>/spec.json  the resolved run spec (sorted keys)
                                      history.csv one row per epoch
                                      predictions.npz raw test outputs (float32) and labels
                                      confusion_matrix.csv rows: true class, columns: predicted
                                      diagnostics.csv, activation_histograms.npz  with diagnostics on
                                      metrics.json final metrics; written last: a run is done
                                                   when it exists and its status is not "failed"
    results/<experiment>/results.csv              one row per run, rebuilt, never appended to
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from actbench.activations import label
from actbench.config import TRAINING_RULES, TaskSpec
from actbench.errors import ActbenchError
from actbench.evaluation import class_probabilities
from actbench.metrics_catalogue import leading_columns

DONE_STATUSES = ("finished", "diverged")
LEADING_COLUMNS = [
    "run_id", "experiment", "dataset", "task", "task_type", "task_positive", "source", "model", "hidden_activation",
    "hidden_activation_name", "hidden_activation_params", "output_activation", "output_units", "seed", "status", *leading_columns(),
]
HISTORY_COLUMNS = ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "seconds"]
RUN_FILES = ("history.csv", "predictions.npz", "confusion_matrix.csv", "diagnostics.csv", "activation_histograms.npz")


def write_atomic(path: Path, content: str | bytes) -> None:
    """Write to a temporary file in the same folder, fsync, then rename: readers never see half a file.

    A failed write (a full disk, a folder made read-only) leaves the old file as it was and becomes
    one ActbenchError naming the path.
    """
    data = content.encode("utf-8") if isinstance(content, str) else content
    temporary = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o666 & ~_UMASK)  # mkstemp makes it owner-only; results are ordinary files
        os.replace(temporary, path)
    except BaseException as exc:
        if temporary and os.path.exists(temporary):
            os.unlink(temporary)
        if isinstance(exc, OSError):
            raise ActbenchError(
                f"{path}: cannot write ({exc.strerror or exc}); free some space or choose another --results-dir; "
                "runs that finished before are kept"
            ) from None
        raise


def ensure_writable(results_root: Path) -> None:
    """Refuse, before anything trains, a results folder that is a file or cannot be written."""
    if results_root.exists() and not results_root.is_dir():
        raise ActbenchError(f"--results-dir {results_root}: is a file, not a folder; pass a folder")
    try:
        results_root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=results_root):
            pass
    except OSError as exc:
        raise ActbenchError(f"--results-dir {results_root}: cannot write there ({exc.strerror or exc}); pass a folder you can write to") from None


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def write_json(path: Path, data: Any) -> None:
    write_atomic(path, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def experiment_dir(results_root: Path, experiment: str) -> Path:
    return results_root / experiment


def run_dir(exp_dir: Path, run_id: str) -> Path:
    return exp_dir / "runs" / run_id


def run_status(exp_dir: Path, run_id: str) -> str | None:
    """The recorded status of a run, or None if it never completed, its files are unreadable, or it
    was made under other training rules (a stale run is never done)."""
    directory = run_dir(exp_dir, run_id)
    try:
        if is_stale(read_json(directory / "spec.json")):
            return None
        return read_json(directory / "metrics.json").get("status")
    except (OSError, ValueError, AttributeError):
        return None


def is_done(exp_dir: Path, run_id: str) -> bool:
    return run_status(exp_dir, run_id) in DONE_STATUSES


def save_experiment(exp_dir: Path, config: dict[str, Any], run_ids: list[str]) -> None:
    write_atomic(exp_dir / "config.yaml", yaml.safe_dump(config, sort_keys=False))
    write_json(exp_dir / "plan.json", {"run_ids": run_ids})


def save_spec(directory: Path, spec: dict[str, Any], run_id: str) -> None:
    write_json(directory / "spec.json", {**spec, "run_id": run_id})


def save_outcome(directory: Path, metrics: dict[str, Any], files: dict[str, str | bytes]) -> None:
    """Replace a run's files and metrics; metrics.json goes last, so it marks a complete run.

    The older metrics.json and files (a --force rerun, or a failed attempt) are removed first, so
    an interruption leaves the run incomplete, never new files beside old metrics.
    """
    (directory / "metrics.json").unlink(missing_ok=True)
    for name in RUN_FILES:
        (directory / name).unlink(missing_ok=True)
    for name, content in files.items():
        write_atomic(directory / name, content)
    write_json(directory / "metrics.json", metrics)


def save_record(exp_dir: Path, spec: dict[str, Any], record: Any) -> Path:
    """Write what an executor returned for one run (an execute.RunRecord): spec, files, then metrics."""
    directory = run_dir(exp_dir, record.run_id)
    save_spec(directory, spec, record.run_id)
    save_outcome(directory, {"status": record.status, "run_id": record.run_id, **record.metrics}, record.files)
    return directory


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


def flatten_run(spec: dict[str, Any], metrics: dict[str, Any]) -> dict[str, Any]:
    """One results.csv row: the spec as columns (model.hidden_units, training.epochs, ...) and the metrics."""
    activation = spec["hidden_activation"]
    task = TaskSpec.model_validate(spec.get("task") or {})
    row: dict[str, Any] = {
        "run_id": spec["run_id"],
        "experiment": spec["experiment"],
        "dataset": spec["dataset"],
        "task": task.label,
        # Structure beside the display labels, so readers never parse a label (JSON for lists and mappings).
        "task_type": task.type,
        "task_positive": json.dumps(task.positive),
        "source": spec["source"],
        "model": spec["model"]["type"],
        "hidden_activation": label(activation["name"], activation["params"]),
        "hidden_activation_name": activation["name"],
        "hidden_activation_params": json.dumps(activation["params"], sort_keys=True),
        "output_activation": spec["output_activation"],
        "output_units": spec.get("output_units", 10),
        "seed": spec["seed"],
    }
    row.update(_flatten("model", spec["model"], skip={"type"}))
    row.update(_flatten("training", spec["training"]))
    row.update(limit_train=spec["limit_train"], limit_test=spec["limit_test"], deterministic=spec["deterministic"])
    row["diagnostics"] = spec.get("diagnostics", False)
    row.update({k: v for k, v in metrics.items() if not isinstance(v, (dict, list))})
    return row


def _flatten(prefix: str, data: dict[str, Any], skip: set[str] = frozenset()) -> dict[str, Any]:
    return {
        f"{prefix}.{key}": json.dumps(value, separators=(",", ":")) if isinstance(value, list) else value
        for key, value in data.items()
        if key not in skip
    }


def is_stale(spec: dict[str, Any]) -> bool:
    """Made under other training rules than this actbench's (runs from before the field existed are version 1)."""
    return spec.get("training_rules", 1) != TRAINING_RULES


def collect_rows(exp_dir: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows for every completed, current run under `exp_dir/runs`, and a note for each directory skipped.

    Runs made under older training rules are stale: never returned, so never mixed into a report,
    and summed up in one note.
    """
    rows, skipped, stale = [], [], 0
    runs = exp_dir / "runs"
    for directory in sorted(runs.iterdir()) if runs.is_dir() else []:
        if not directory.is_dir() or directory.name.startswith("."):
            continue
        if not (directory / "metrics.json").exists():
            skipped.append(f"{directory}: incomplete (no metrics.json); it will run again")
            continue
        try:
            spec = read_json(directory / "spec.json")
            if is_stale(spec):
                stale += 1
                continue
            rows.append(flatten_run(spec, read_json(directory / "metrics.json")))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            skipped.append(f"{directory}: unreadable ({type(exc).__name__}: {exc}); delete it to rerun that run")
    if stale:
        skipped.append(_stale_message(runs, stale))
    return rows, skipped


def stale_note(exp_dir: Path) -> str | None:
    """collect_rows' note on stale runs, from the specs alone (for planning, which needs no rows)."""
    runs = exp_dir / "runs"
    stale = 0
    for spec in runs.glob("*/spec.json") if runs.is_dir() else []:
        try:
            stale += (spec.parent / "metrics.json").exists() and is_stale(read_json(spec))
        except (OSError, ValueError, AttributeError):
            continue  # collect_rows names unreadable folders
    return _stale_message(runs, stale) if stale else None


def _stale_message(runs: Path, stale: int) -> str:
    return (
        f"{runs}: {stale} run{'s' if stale > 1 else ''} made under older training rules (before version "
        f"{TRAINING_RULES}) left out as stale; `actbench run` trains them anew, and you may delete the old folders"
    )


def rebuild_results_csv(exp_dir: Path) -> tuple[Path, int, list[str]]:
    """Rewrite results.csv from the run directories; returns its path, its row count and skip notes."""
    import pandas as pd

    rows, skipped = collect_rows(exp_dir)
    path = exp_dir / "results.csv"
    table = pd.DataFrame(rows)
    if not table.empty:
        # Identity and spec columns first, then metrics; nullable dtypes keep integers integral.
        spec_columns = sorted(c for c in table.columns if "." in c)
        first = [c for c in LEADING_COLUMNS if c in table.columns] + spec_columns
        table = table[first + sorted(set(table.columns) - set(first))].convert_dtypes()
    write_atomic(path, table.to_csv(index=False))
    return path, len(rows), skipped
