"""Run a sweep: expand the grid, skip finished runs, load each dataset once, train, save, rebuild results.csv."""

from __future__ import annotations

import re
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from actbench import results
from actbench.config import ExperimentConfig, RunSpec, config_as_dict, expand_runs, output_label, run_id
from actbench.costs import estimate_runs
from actbench.datasets import Dataset, RawData, fallback_fix, load_dataset, resolve_source, split_dataset
from actbench.errors import ActbenchError
from actbench.progress import QuietReporter


@dataclass
class PlannedRun:
    spec: RunSpec
    run_id: str
    status: str | None  # recorded status, None when it never completed

    @property
    def done(self) -> bool:
        return self.status in results.DONE_STATUSES

    @property
    def title(self) -> str:
        s = self.spec
        binary = s.task.type == "binary"
        output = output_label(s.output_activation, s.output_units, binary)
        task = f" {s.task.label}" if binary else ""
        return f"{s.dataset}/{s.source}{task} {s.model.type} {s.hidden_activation.label} -> {output} seed={s.seed}"


@dataclass
class SweepSummary:
    results_csv: Path | None = None
    counts: dict[str, int] = field(default_factory=lambda: {"finished": 0, "diverged": 0, "failed": 0, "skipped": 0})


@dataclass
class DataCache:
    """Loads each dataset once per sweep and each (limits, validation split) cut once."""

    data_dir: Path | None
    mirror: str | None
    raw: dict[str, RawData] = field(default_factory=dict)
    cuts: dict[tuple, Dataset] = field(default_factory=dict)

    def load(self, name: str, requested: str) -> RawData:
        if name not in self.raw:
            self.raw[name] = load_dataset(name, requested, self.data_dir, self.mirror)
        return self.raw[name]

    def cut(self, spec: RunSpec, requested: str) -> Dataset:
        key = (spec.dataset, spec.limit_train, spec.limit_test, spec.training.validation_split)
        if key not in self.cuts:
            raw = self.load(spec.dataset, requested)
            self.cuts[key] = split_dataset(raw, spec.limit_train, spec.limit_test, spec.training.validation_split)
        return self.cuts[key]


def plan_runs(
    config: ExperimentConfig, results_root: Path, data_dir: Path | None, cache: DataCache | None = None
) -> tuple[list[PlannedRun], list[str]]:
    """The expanded grid with each run's recorded status, and notes on how sources were resolved.

    Without a cache (dry run) nothing is loaded or downloaded: `auto` is decided from local files.
    With one, `auto` without local data tries the download first, as the real run will.
    """
    resolved, notes = {}, []
    for name in config.datasets:
        requested = config.data.source
        resolved[name] = resolve_source(name, requested, data_dir)
        if requested == "auto" and resolved[name] == "sample":
            if cache is None:
                notes.append(
                    f"{name}: full data not found locally; a real run tries to download it, else uses the sample. {fallback_fix(name)}"
                )
            else:
                raw = cache.load(name, requested)
                resolved[name] = raw.source
                if raw.warning:
                    notes.append(raw.warning)
    exp_dir = results.experiment_dir(results_root, config.name)
    notes += [note for note in results.collect_rows(exp_dir)[1] if "stale" in note]
    planned = []
    for spec in expand_runs(config, resolved):
        identifier = run_id(spec)
        planned.append(PlannedRun(spec, identifier, results.run_status(exp_dir, identifier)))
    return planned, notes


def run_experiment(
    config: ExperimentConfig,
    results_root: Path,
    *,
    data_dir: Path | None = None,
    mirror: str | None = None,
    force: bool = False,
    reporter: QuietReporter | None = None,
) -> SweepSummary:
    reporter = reporter or QuietReporter()
    results.ensure_writable(results_root)
    cache = DataCache(data_dir, mirror)
    planned, notes = plan_runs(config, results_root, data_dir, cache)
    for note in notes:
        reporter.warn(note)

    exp_dir = results.experiment_dir(results_root, config.name)
    results.save_experiment(exp_dir, config_as_dict(config), [p.run_id for p in planned])
    pending = [p for p in planned if force or not p.done]
    summary = SweepSummary()
    summary.counts["skipped"] = len(planned) - len(pending)

    reporter.expect([estimate.seconds for estimate in estimate_runs([p.spec for p in pending], results_root)])
    reporter.start(len(planned), len(pending))
    try:
        for index, run in enumerate(pending, start=1):
            reporter.run_started(index, run.run_id, run.title, run.spec.training.epochs)
            status, metrics = _run_one(run, cache, config.data.source, exp_dir, reporter)
            summary.counts[status] += 1
            reporter.run_done(index, run.run_id, run.title, status, metrics)
    except BaseException:
        # Ctrl-C, a full disk, a data problem: results.csv still shows every run completed so far,
        # if it can be written; the error that stopped the sweep is the one the user sees.
        reporter.finish()
        try:
            _rebuild_results(exp_dir, summary, reporter)
        except ActbenchError as exc:
            reporter.warn(str(exc))
        raise
    reporter.finish()
    _rebuild_results(exp_dir, summary, reporter)
    return summary


def _rebuild_results(exp_dir: Path, summary: SweepSummary, reporter: QuietReporter) -> None:
    summary.results_csv, _, skipped = results.rebuild_results_csv(exp_dir)
    for note in skipped:
        reporter.warn(note)


def one_line_error(exc: BaseException, limit: int = 300) -> str:
    """An exception as one readable line: Keras wraps errors in multi-line, coloured messages."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", f"{type(exc).__name__}: {exc}")
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _run_one(run: PlannedRun, cache: DataCache, requested: str, exp_dir: Path, reporter: QuietReporter) -> tuple[str, dict[str, Any]]:
    """Train one run and record it; an exception becomes a `failed` record, the sweep goes on."""
    from actbench import train  # imports TensorFlow: only once a run really trains

    data = cache.cut(run.spec, requested)  # a data problem is the user's to fix: it stops the sweep
    directory = results.run_dir(exp_dir, run.run_id)
    started = time.perf_counter()
    try:
        outcome = train.train_and_evaluate(run.spec, data, on_epoch=reporter.epoch_done)
        status, metrics, files = outcome.status, outcome.metrics, _run_files(outcome)
    except Exception as exc:  # noqa: BLE001 - any error in one run must not stop the sweep
        status, files = "failed", {}
        metrics = {"error": one_line_error(exc), "traceback": traceback.format_exc()}
    # The whole run's wall time (building, training, testing): what cost estimates learn from.
    metrics["run_seconds"] = round(time.perf_counter() - started, 3)
    # Written after training, spec first: a run folder holds a metrics.json only beside its spec.
    results.save_spec(directory, run.spec.model_dump(mode="json"), run.run_id)
    results.save_outcome(directory, {"status": status, "run_id": run.run_id, **metrics}, files)
    return status, metrics


def _run_files(outcome: Any) -> dict[str, str | bytes]:
    files: dict[str, str | bytes] = {"history.csv": results.history_csv(outcome.history)}
    test = outcome.evaluation
    if test is not None:
        files["predictions.npz"] = results.predictions_npz(test.outputs, test.output_activation, test.labels, test.class_names)
        files["confusion_matrix.csv"] = results.confusion_csv(test.confusion, test.class_names)
    probe = outcome.diagnostics
    if probe is not None:
        from actbench.diagnostics import COLUMNS

        files["diagnostics.csv"] = results.rows_csv(probe.rows, COLUMNS)
        if probe.histograms:
            files["activation_histograms.npz"] = results.arrays_npz(probe.histograms)
    return files
