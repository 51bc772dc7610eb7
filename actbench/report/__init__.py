"""`actbench report`: read an experiment's run directories, aggregate over seeds, render and write the report.

Never imports TensorFlow. Reads the run directories (the source of truth), not results.csv, so a
results.csv edited by hand cannot mislead it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from actbench import results
from actbench.config import output_label
from actbench.errors import ActbenchError
from actbench.report.aggregate import EXTRA_METRICS, Aggregated, aggregate, pivot

NUMERIC = ["test_accuracy", "test_loss", "best_val_accuracy", "best_epoch", "train_seconds", "seconds_per_epoch"]


@dataclass
class ExperimentReport:
    name: str
    exp_dir: Path
    runs: pd.DataFrame
    aggregated: Aggregated
    pivot: pd.DataFrame
    missing: int
    notes: list[str] = field(default_factory=list)


def find_experiments(target: Path) -> list[Path]:
    """`target` is one experiment folder (has runs/) or a results folder holding several."""
    if not target.exists():
        raise ActbenchError(f"{target}: no such folder; run an experiment first (actbench run CONFIG) or pass its results folder")
    if (target / "runs").is_dir():
        return [target]
    found = sorted(p for p in target.iterdir() if (p / "runs").is_dir())
    if not found:
        raise ActbenchError(f"{target}: holds no experiment results (no */runs/ folders); run `actbench run CONFIG` first")
    return found


def build_report(exp_dir: Path, filters: list[str] = ()) -> ExperimentReport:
    rows, notes = results.collect_rows(exp_dir)
    runs = pd.DataFrame(rows)
    planned = _planned_ids(exp_dir, notes)
    if runs.empty:
        aggregated = Aggregated(pd.DataFrame(), pd.DataFrame(), [], [])
        missing = len(planned)
    else:
        runs = _apply_filters(runs.assign(model=_model_labels(runs), output_activation=_output_labels(runs)), filters)
        for column in NUMERIC + [m for m in EXTRA_METRICS if m in runs]:
            runs[column] = pd.to_numeric(runs[column], errors="coerce") if column in runs else float("nan")
        aggregated = aggregate(runs)
        missing = len(planned - set(runs["run_id"]))
    return ExperimentReport(exp_dir.name, exp_dir, runs, aggregated, pivot(aggregated.summary), missing, notes)


def _model_labels(runs: pd.DataFrame) -> pd.Series:
    """'mlp 128-64' or 'cnn 32-64': the model type with its layer widths, for tables and legends."""
    empty = pd.Series("", index=runs.index)
    widths = runs.get("model.hidden_units", empty).where(runs["model"] == "mlp", runs.get("model.filters", empty))
    widths = widths.fillna("").astype(str).str.strip("[]").map(_widths_label)
    return (runs["model"] + " " + widths).str.strip()


def _widths_label(text: str) -> str:
    """'128,64' -> '128-64'; three or more equal widths shorten: '128,128,128' -> '128x3'."""
    parts = [p for p in text.split(",") if p]
    if len(parts) > 2 and len(set(parts)) == 1:
        return f"{parts[0]}x{len(parts)}"
    return "-".join(parts)


def _output_labels(runs: pd.DataFrame) -> pd.Series:
    if "task" not in runs or "output_units" not in runs:  # runs recorded before binary tasks existed
        return runs["output_activation"]
    return pd.Series(
        [output_label(name, int(units), task.startswith("binary"))
         for name, units, task in zip(runs["output_activation"], runs["output_units"], runs["task"])],
        index=runs.index,
    )


def _apply_filters(runs: pd.DataFrame, filters: list[str]) -> pd.DataFrame:
    for item in filters:
        key, sep, value = item.partition("=")
        if not sep or key not in runs.columns:
            valid = ", ".join(c for c in runs.columns if "." in c or c in ("dataset", "model", "hidden_activation", "output_activation", "source", "seed"))
            raise ActbenchError(f"--filter {item!r}: write it as column=value with a column of results.csv, e.g. {valid}")
        runs = runs[runs[key].astype(str) == value]
    return runs


def _planned_ids(exp_dir: Path, notes: list[str]) -> set[str]:
    try:
        return set(results.read_json(exp_dir / "plan.json")["run_ids"])
    except FileNotFoundError:
        return set()
    except (OSError, ValueError, KeyError, TypeError):
        notes.append(f"{exp_dir / 'plan.json'}: unreadable, so missing runs cannot be counted")
        return set()
