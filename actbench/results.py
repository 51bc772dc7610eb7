"""The results layout on disk: one directory per run, written atomically, and results.csv rebuilt from them.

    results/<experiment>/config.yaml              the validated config of the latest `run`
    results/<experiment>/plan.json                run ids that config expands to
    results/<experiment>/runs/<run_id>/spec.json  the resolved run spec (sorted keys)
                                      history.csv one row per epoch
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

import yaml

from actbench.activations import label

DONE_STATUSES = ("finished", "diverged")
LEADING_COLUMNS = [
    "run_id", "experiment", "dataset", "source", "model", "hidden_activation", "output_activation", "seed",
    "status", "test_accuracy", "test_loss", "best_val_accuracy", "best_epoch", "train_seconds", "seconds_per_epoch",
]
HISTORY_COLUMNS = ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "seconds"]


def write_atomic(path: Path, text: str) -> None:
    """Write to a temporary file in the same folder, fsync, then rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def write_json(path: Path, data: Any) -> None:
    write_atomic(path, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def experiment_dir(results_root: Path, experiment: str) -> Path:
    return results_root / experiment


def run_dir(exp_dir: Path, run_id: str) -> Path:
    return exp_dir / "runs" / run_id


def run_status(exp_dir: Path, run_id: str) -> str | None:
    """The recorded status of a run, or None if it never completed (or its metrics are unreadable)."""
    path = run_dir(exp_dir, run_id) / "metrics.json"
    try:
        return read_json(path).get("status")
    except (OSError, ValueError, AttributeError):
        return None


def is_done(exp_dir: Path, run_id: str) -> bool:
    return run_status(exp_dir, run_id) in DONE_STATUSES


def save_experiment(exp_dir: Path, config: dict[str, Any], run_ids: list[str]) -> None:
    write_atomic(exp_dir / "config.yaml", yaml.safe_dump(config, sort_keys=False))
    write_json(exp_dir / "plan.json", {"run_ids": run_ids})


def save_spec(directory: Path, spec: dict[str, Any], run_id: str) -> None:
    write_json(directory / "spec.json", {**spec, "run_id": run_id})


def save_outcome(directory: Path, history: list[dict[str, float]], metrics: dict[str, Any]) -> None:
    """Replace a run's history and metrics; metrics.json goes last, so it marks a complete run.

    An older metrics.json (a --force rerun, or a failed attempt) is removed first, so an
    interruption between the two writes leaves the run incomplete, never a new history beside
    old metrics.
    """
    (directory / "metrics.json").unlink(missing_ok=True)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=HISTORY_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(history)
    write_atomic(directory / "history.csv", buffer.getvalue())
    write_json(directory / "metrics.json", metrics)


def flatten_run(spec: dict[str, Any], metrics: dict[str, Any]) -> dict[str, Any]:
    """One results.csv row: the spec as columns (model.hidden_units, training.epochs, ...) and the metrics."""
    activation = spec["hidden_activation"]
    row: dict[str, Any] = {
        "run_id": spec["run_id"],
        "experiment": spec["experiment"],
        "dataset": spec["dataset"],
        "source": spec["source"],
        "model": spec["model"]["type"],
        "hidden_activation": label(activation["name"], activation["params"]),
        "output_activation": spec["output_activation"],
        "seed": spec["seed"],
    }
    row.update(_flatten("model", spec["model"], skip={"type"}))
    row.update(_flatten("training", spec["training"]))
    row.update(limit_train=spec["limit_train"], limit_test=spec["limit_test"], deterministic=spec["deterministic"])
    row.update({k: v for k, v in metrics.items() if not isinstance(v, (dict, list))})
    return row


def _flatten(prefix: str, data: dict[str, Any], skip: set[str] = frozenset()) -> dict[str, Any]:
    return {
        f"{prefix}.{key}": json.dumps(value, separators=(",", ":")) if isinstance(value, list) else value
        for key, value in data.items()
        if key not in skip
    }


def collect_rows(exp_dir: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows for every completed run under `exp_dir/runs`, and a note for each directory skipped."""
    rows, skipped = [], []
    runs = exp_dir / "runs"
    for directory in sorted(runs.iterdir()) if runs.is_dir() else []:
        if not directory.is_dir() or directory.name.startswith("."):
            continue
        if not (directory / "metrics.json").exists():
            skipped.append(f"{directory}: incomplete (no metrics.json); it will run again")
            continue
        try:
            rows.append(flatten_run(read_json(directory / "spec.json"), read_json(directory / "metrics.json")))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            skipped.append(f"{directory}: unreadable ({type(exc).__name__}: {exc}); delete it to rerun that run")
    return rows, skipped


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
