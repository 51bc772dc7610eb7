"""results.csv: one row per completed, current run, rebuilt from the run directories, never appended to."""

from __future__ import annotations

import json
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import TYPE_CHECKING, Any

from actbench.config import TRAINING_RULES, CNNSpec, MLPSpec, RunSpec, TaskSpec, TrainingSpec, block_id, group_id
from actbench.metrics_catalogue import leading_columns
from actbench.naming import activation_label
from actbench.results.runs import (
    has_metrics,
    is_stale,
    output_units,
    read_metrics,
    read_spec,
    run_directories,
    runs_dir,
)
from actbench.results.storage import write_atomic
from actbench.settings_catalogue import SETTINGS, with_types
from actbench.settings_catalogue import leading_columns as leading_settings

if TYPE_CHECKING:
    import pandas as pd

LEADING_COLUMNS = [*leading_settings(), *leading_columns()]


def flatten_run(spec: dict[str, Any], metrics: dict[str, Any]) -> dict[str, Any]:
    """One results.csv row: the spec as columns (model.hidden_units, training.epochs, ...) and the metrics.

    The group and block ids are computed from the spec each time, so run folders written before they
    existed get them too.
    """
    activation = spec["hidden_activation"]
    task = TaskSpec.model_validate(spec.get("task") or {})
    row: dict[str, Any] = {
        "run_id": spec["run_id"],
        "group_id": group_id(spec),
        "block_id": block_id(spec),
        "experiment": spec["experiment"],
        "dataset": spec["dataset"],
        "task": task.label,
        # Structure beside the display labels, so readers never parse a label (JSON for lists and mappings).
        "task_type": task.type,
        "task_positive": json.dumps(task.positive),
        "source": spec["source"],
        "model": spec["model"]["type"],
        "hidden_activation": activation_label(activation["name"], activation["params"]),
        "hidden_activation_name": activation["name"],
        "hidden_activation_params": json.dumps(activation["params"], sort_keys=True),
        "hidden_activation_source": activation.get("source_digest"),
        "output_activation": spec["output_activation"],
        "output_units": output_units(spec),
        "seed": spec["seed"],
    }
    # Settings added later are left out of a spec at their defaults (schema.Strict.LATER): filled back in here.
    model_type = CNNSpec if spec["model"]["type"] == "cnn" else MLPSpec
    row.update(_flatten("model", model_type.with_later_defaults(spec["model"]), skip={"type"}))
    training = TrainingSpec.model_validate(spec["training"])
    values = {name: getattr(training, name) for name in TrainingSpec.model_fields}
    values.update(schedule=training.schedule_label, early_stopping=training.early_stopping_label)
    row.update(_flatten("training", values))
    row.update(limit_train=spec["limit_train"], limit_test=spec["limit_test"], deterministic=spec["deterministic"])
    row["preprocessing"] = RunSpec.with_later_defaults(spec)["preprocessing"]
    row["diagnostics"] = spec.get("diagnostics", False)
    row["data_sha256"] = (spec.get("own_data") or {}).get("sha256")
    later = RunSpec.with_later_defaults(spec)
    row.update(stage=later["stage"], tuned=json.dumps(list(later["tuned"])))
    row.update({k: v for k, v in metrics.items() if not isinstance(v, (dict, list))})
    return row


def runs_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """collect_rows' rows as a table: settings first in catalogue order, then metrics; settings typed by the
    catalogue (integers stay integers where some runs lack one), metrics as pandas reads them."""
    import pandas as pd

    table = pd.DataFrame(rows)
    # Always the leading columns, where no run has them yet (none finished, or only failed ones):
    # results.csv keeps its header line, a program its column names.
    table = table.reindex(columns=[*LEADING_COLUMNS, *(c for c in table.columns if c not in LEADING_COLUMNS)])
    first = LEADING_COLUMNS
    settings = [c for c in SETTINGS if c in table.columns and c not in first]
    table = table[first + settings + sorted(set(table.columns) - set(first) - set(settings))]
    return with_types(table)


def _flatten(prefix: str, data: dict[str, Any], skip: AbstractSet[str] = frozenset()) -> dict[str, Any]:
    return {
        f"{prefix}.{key}": json.dumps(value, separators=(",", ":")) if isinstance(value, list) else value
        for key, value in data.items()
        if key not in skip
    }


def collect_rows(exp_dir: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows for every completed, current run under `exp_dir/runs`, and a note for each directory skipped.

    Runs made under older training rules are stale: never returned, so never mixed into a report,
    and summed up in one note.
    """
    rows, skipped, stale = [], [], 0
    for directory in run_directories(exp_dir):
        if not has_metrics(directory):
            skipped.append(f"{directory}: incomplete (no metrics.json); it will run again")
            continue
        try:
            spec = read_spec(directory)
            if is_stale(spec):
                stale += 1
                continue
            rows.append(flatten_run(spec, read_metrics(directory)))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            skipped.append(f"{directory}: unreadable ({type(exc).__name__}: {exc}); delete it to rerun that run")
    if stale:
        skipped.append(_stale_message(runs_dir(exp_dir), stale))
    return rows, skipped


def stale_note(exp_dir: Path) -> str | None:
    """collect_rows' note on stale runs, from the specs alone (for planning, which needs no rows)."""
    stale = 0
    for directory in run_directories(exp_dir):
        try:
            stale += has_metrics(directory) and is_stale(read_spec(directory))
        except (OSError, ValueError, AttributeError):
            continue  # collect_rows names unreadable folders
    return _stale_message(runs_dir(exp_dir), stale) if stale else None


def _stale_message(runs: Path, stale: int) -> str:
    return (
        f"{runs}: {stale} run{'s' if stale > 1 else ''} made under older training rules (before version "
        f"{TRAINING_RULES}) left out as stale; `actbench run` trains them anew, and you may delete the old folders"
    )


def rebuild_results_csv(exp_dir: Path) -> tuple[Path, int, list[str]]:
    """Rewrite results.csv from the run directories; returns its path, its row count and skip notes."""
    rows, skipped = collect_rows(exp_dir)
    path = exp_dir / "results.csv"
    table = runs_frame(rows)
    measured = [c for c in table.columns if c not in SETTINGS]
    table[measured] = table[measured].convert_dtypes()  # an integral metric (best_epoch) stays integral
    write_atomic(path, table.to_csv(index=False))
    return path, len(rows), skipped
