"""What every exporter sends: an experiment's recorded runs, their settings, per-epoch history and test
metrics, and the report's per-group statistics (mean, spread, interval, verdict over seeds).

Reads the run directories through actbench.results and the statistics through actbench.report, so
TensorBoard and MLflow show the same numbers as `actbench report`. Never imports TensorFlow.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from actbench import results
from actbench.metrics_catalogue import NOT_METRICS
from actbench.settings_catalogue import of_kind

Setting = str | int | float | bool
# Columns of flatten_run's row that name a run, group or block rather than describe it; the seed is
# kept apart because the runs of a group differ only by it.
NOT_SETTINGS = set(of_kind("identity"))


@dataclass(frozen=True)
class GroupStats:
    """One group's figures over its seeds, as the report computes them."""

    n: int
    acc_mean: float
    acc_std: float
    acc_ci_low: float
    acc_ci_high: float
    rank: float  # NaN for a group with too few seeds: it has no rank
    p_vs_best: float  # Holm-adjusted p of the paired test against the block's top group
    verdict: str
    overall_rank: float = math.nan  # its activation's average rank over the experiment's blocks (report's overall)

    def as_metrics(self) -> dict[str, float]:
        """The numeric figures; NaN ones (no spread or test with one seed) are left out."""
        values = {
            "n": self.n,
            "acc_mean": self.acc_mean,
            "acc_std": self.acc_std,
            "acc_ci_low": self.acc_ci_low,
            "acc_ci_high": self.acc_ci_high,
            "rank": self.rank,
            "p_vs_best": self.p_vs_best,
            "overall_rank": self.overall_rank,
        }
        return {key: float(value) for key, value in values.items() if not math.isnan(float(value))}


@dataclass(frozen=True)
class RecordedRun:
    run_id: str
    experiment: str
    directory: Path
    status: str  # a done RunStatus's word: finished | diverged
    seed: int
    settings: dict[str, Setting]  # everything but the seed: identical within a group
    group_id: str  # results.csv's, as the report groups runs
    group_label: str  # the report's block label and label
    metrics: dict[str, float]  # final numbers from metrics.json
    history: list[dict[str, float]]  # one row per epoch (history.csv)
    started: float  # seconds since the epoch: the end less the run's recorded seconds
    ended: float  # when metrics.json, written last, was written
    digest: str  # changes when the run's recorded files change (a --force rerun)
    stats: GroupStats | None = None

    def epoch_times(self) -> list[float]:
        """Wall time at the end of each epoch, from the start time and the epochs' own seconds."""
        times, now = [], self.started
        for row in self.history:
            now += row.get("seconds", 0.0)
            times.append(min(now, self.ended))
        return times


@dataclass
class ExportSummary:
    experiment: str
    destination: str
    written: int = 0
    unchanged: int = 0
    notes: list[str] = field(default_factory=list)


def read_experiment(exp_dir: Path) -> tuple[list[RecordedRun], list[str]]:
    """Every finished or diverged run of an experiment with its group's statistics, and notes on the rest."""
    rows, notes = results.collect_rows(exp_dir)
    groups = report_groups(exp_dir) if rows else {}
    runs = []
    for row in rows:
        directory = results.run_dir(exp_dir, row["run_id"])
        if row["status"] not in results.DONE_STATUSES:
            notes.append(f"{directory}: {row['status']}, not exported; it runs again with the next `actbench run`")
            continue
        stats, label = groups.get(row["group_id"], (None, row["hidden_activation"]))
        runs.append(_recorded_run(directory, stats, label))
    return runs, notes


def report_groups(exp_dir: Path) -> dict[str, tuple[GroupStats, str]]:
    """The report's statistics and label for each group, by group id: the one place that reads report columns.

    Reads from `build_report(...).aggregated.summary`: acc_mean, acc_std, acc_ci_low, acc_ci_high,
    n, rank, p_holm, verdict, block_label and label, and from its overall section each group's activation's
    average rank over the blocks. Every run in the folder (`all_runs`), as every
    run is exported; sweeps that differ in a setting are separate groups and blocks there, so they
    are never averaged together.
    """
    from actbench.report import build_report

    report = build_report(exp_dir, all_runs=True)
    summary, overall = report.aggregated.summary, report.overall
    average = overall.table().set_index("label")["average_rank"] if overall is not None else {}
    members = overall.members if overall is not None else {}
    return {
        row["group_id"]: (
            GroupStats(
                n=int(row["n"]),
                acc_mean=row["acc_mean"],
                acc_std=row["acc_std"],
                acc_ci_low=row["acc_ci_low"],
                acc_ci_high=row["acc_ci_high"],
                rank=float(row["rank"]),
                p_vs_best=row["p_holm"],
                verdict=str(row["verdict"]),
                overall_rank=float(average[members[row["group_id"]]]) if row["group_id"] in members else math.nan,
            ),
            " / ".join(part for part in (row["block_label"], row["label"]) if part),
        )
        for row in summary.to_dict("records")
    }


def _recorded_run(directory: Path, stats: GroupStats | None, label: str) -> RecordedRun:
    spec, recorded = results.read_run(directory)
    row = results.flatten_run(spec, {})
    settings = {key: _setting(value) for key, value in row.items() if key not in NOT_SETTINGS}
    history = results.read_history(directory)
    ended = results.ended_at(directory)
    return RecordedRun(
        run_id=spec["run_id"],
        experiment=spec["experiment"],
        directory=directory,
        status=recorded["status"],
        seed=int(spec["seed"]),
        settings=settings,
        group_id=row["group_id"],
        group_label=label,
        metrics={k: float(v) for k, v in recorded.items() if k not in NOT_METRICS and _is_number(v)},
        history=history,
        started=ended - float(recorded.get("run_seconds") or recorded.get("train_seconds") or 0.0),
        ended=ended,
        digest=_digest(
            *(p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file() and not p.name.startswith("."))
        ),
        stats=stats,
    )


def _setting(value: Any) -> Setting:
    """Settings as plain scalars; a missing value (limit_train: null) becomes 'none'."""
    if value is None:
        return "none"
    if isinstance(value, (str, int, float, bool)):
        return value
    return json.dumps(value, separators=(",", ":"))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _digest(*parts: str | bytes) -> str:
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(part.encode() if isinstance(part, str) else part)
    return hasher.hexdigest()
