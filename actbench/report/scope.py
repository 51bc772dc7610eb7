"""Which runs a report covers: the experiments under a target folder, the latest plan, filters.

By default a report covers the runs of the latest `actbench run` (plan.json), so a quick
one-epoch look and the full sweep that follows in the same folder are never averaged together;
`--all` takes every run in the folder. Filters narrow either down to a view.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from actbench import results
from actbench.errors import ActbenchError
from actbench.settings_catalogue import filter_keys, filter_texts, named_by

# The results.csv columns a --filter may name: fixed by the settings catalogue, so a typo is caught
# before any folder is read, whatever the folder holds.
FILTER_KEYS = filter_keys()


@dataclass
class Scope:
    """What the report covers and what it leaves out, in counts a headline can state."""

    all_runs: bool = False
    filters: list[str] = field(default_factory=list)
    planned: int = 0  # run ids in plan.json
    missing: int = 0  # planned runs without a completed run directory
    others: int = 0  # completed runs in the folder outside the plan
    filtered_out: int = 0
    has_plan: bool = True
    values_seen: dict[str, set[str]] = field(default_factory=dict)  # per --filter key, its values before filtering

    @property
    def is_full(self) -> bool:
        """The default view: the latest plan, unfiltered. Only it may write results/<exp>/report/."""
        return not self.all_runs and not self.filters


def parse_filters(filters: list[str]) -> list[tuple[str, str]]:
    """'key=value' pairs; a malformed item or unknown key is an error naming the valid keys."""
    parsed = []
    for item in filters:
        key, sep, value = item.partition("=")
        if not sep or key not in FILTER_KEYS:
            raise ActbenchError(
                f"--filter {item!r}: write it as column=value with one of these columns: {', '.join(FILTER_KEYS)}"
            )
        parsed.append((key, value))
    return parsed


def find_experiments(target: Path) -> list[Path]:
    """`target` is one experiment folder (has runs/) or a results folder holding several."""
    if not target.exists():
        raise ActbenchError(
            f"{target}: no such folder; run an experiment first (actbench run CONFIG) or pass its results folder"
        )
    if results.is_experiment_dir(target):
        return [target]
    found = sorted(p for p in target.iterdir() if results.is_experiment_dir(p))
    if not found:
        raise ActbenchError(
            f"{target}: holds no experiment results (no */runs/ folders); run `actbench run CONFIG` first"
        )
    return found


def select_runs(exp_dir: Path, all_runs: bool, filters: list[str], notes: list[str]) -> tuple[pd.DataFrame, Scope]:
    """The completed runs in scope, as results.csv rows, and the counts of what was left out."""
    rows, skipped = results.collect_rows(exp_dir)
    notes += skipped
    runs = results.runs_frame(rows)
    planned = _planned_ids(exp_dir, notes)
    scope = Scope(all_runs=all_runs, filters=list(filters), planned=len(planned or ()), has_plan=planned is not None)
    present = set(runs["run_id"]) if not runs.empty else set()
    if planned is not None:
        scope.missing = len(planned - present)
        scope.others = len(present - planned)
        if not all_runs and not runs.empty:
            runs = runs[runs["run_id"].isin(planned)]
    parsed = parse_filters(filters)
    scope.values_seen = {key: set(filter_texts(runs[key])) if key in runs else set() for key, _ in parsed}
    for key, value in parsed:
        before = len(runs)
        runs = runs[named_by(runs[key], value)] if key in runs else runs.iloc[0:0]
        scope.filtered_out += before - len(runs)
    return runs.reset_index(drop=True), scope


def _planned_ids(exp_dir: Path, notes: list[str]) -> set[str] | None:
    path = exp_dir / results.PLAN
    try:
        return set(results.read_plan(exp_dir))
    except FileNotFoundError:
        notes.append(f"{path}: not found, so every run in the folder is reported")
    except (OSError, ValueError, KeyError, TypeError):
        notes.append(f"{path}: unreadable, so every run in the folder is reported and missing runs cannot be counted")
    return None


def no_match_message(filters: list[str], scopes: list[Scope], target: Path) -> str:
    """The error for filters that left no run anywhere: the values each key does have."""
    seen: dict[str, set[str]] = {}
    for scope in scopes:
        for key, values in scope.values_seen.items():
            seen.setdefault(key, set()).update(values)
    choices = "; ".join(f"{key}: {', '.join(sorted(values)) or 'none'}" for key, values in seen.items())
    return f"--filter {' '.join(filters)}: no run in {target} matches; values there: {choices}"


def scope_sentence(scope: Scope, shown: int, status: str) -> str:
    """'12 runs of the latest plan (12 finished); the folder holds 24 other runs (--all includes them)'."""
    if not scope.has_plan:
        text = f"{shown} runs ({status})"
    elif scope.all_runs:
        text = f"{shown} runs ({status}): all in the folder (--all), {scope.others} of them outside the latest plan"
    else:
        text = f"{shown} runs of the latest plan ({status})"
        if scope.others:
            text += f"; the folder holds {scope.others} other runs from earlier sweeps (--all includes them)"
    if scope.missing:
        text += f"; {scope.missing} planned runs missing (sweep in progress or interrupted)"
    if scope.filters:
        text += f"; {scope.filtered_out} left out by --filter {' '.join(scope.filters)}"
    return text
