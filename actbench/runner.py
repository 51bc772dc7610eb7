"""Run a sweep: expand the grid, skip finished runs, claim and dispatch the rest to an executor, write each record.

The driver (this module) is the only writer of results/: executors return records, and each is
written atomically as it arrives, so a kill at any moment loses nothing that finished.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from actbench import results
from actbench.claims import Claims
from actbench.config import BUILTIN_CLASSES, ExperimentConfig, OwnData, RunSpec, config_as_dict, expand_runs, output_label, output_problem, run_id
from actbench.costs import estimate_runs
from actbench.datasets import fallback_fix, resolve_source
from actbench.datasets.cache import DataCache, DataRequest, cache_for, data_request
from actbench.errors import ActbenchError
from actbench.executors import Executor, Job
from actbench.executors.serial import Serial
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
        return _title(self.spec)


def _title(s: RunSpec) -> str:
    binary = s.task.type == "binary"
    output = output_label(s.output_activation, s.output_units, binary)
    task = f" {s.task.label}" if binary else ""
    return f"{s.dataset}/{s.source}{task} {s.model.type} {s.hidden_activation.label} -> {output} seed={s.seed}"


@dataclass
class SweepSummary:
    results_csv: Path | None = None
    counts: dict[str, int] = field(
        default_factory=lambda: {"finished": 0, "diverged": 0, "failed": 0, "skipped": 0, "elsewhere": 0}
    )


def plan_runs(
    config: ExperimentConfig, results_root: Path, data_dir: Path | None, cache: DataCache | None = None
) -> tuple[list[PlannedRun], list[str]]:
    """The expanded grid with each run's recorded status, and notes on how sources were resolved.

    Without a cache (dry run) nothing is loaded or downloaded: `auto` is decided from local files.
    With one, `auto` without local data tries the download first, as the real run will.
    """
    resolved, notes = {}, []
    own = own_data(config, cache or cache_for(data_request(config, data_dir)))
    for name in (name for name in config.dataset_names if name not in own):
        requested = config.data.source
        resolved[name] = resolve_source(name, requested, data_dir)
        if requested == "auto" and resolved[name] == "sample":
            if cache is None:
                notes.append(
                    f"{name}: full data not found locally; a real run tries to download it, else uses the sample. {fallback_fix(name)}"
                )
            else:
                raw = cache.load(name)
                resolved[name] = raw.source
                if raw.warning:
                    notes.append(raw.warning)
    exp_dir = results.experiment_dir(results_root, config.name)
    notes += filter(None, [results.stale_note(exp_dir)])
    planned = []
    for spec in expand_runs(config, resolved, own):
        identifier = run_id(spec)
        planned.append(PlannedRun(spec, identifier, results.run_status(exp_dir, identifier)))
    return planned, notes


def own_data(config: ExperimentConfig, cache: DataCache) -> dict[str, OwnData]:
    """Read each dataset of your own once (even for a dry run: its digest is part of every run id)
    and check the task and output layers against its class count, as the config does for the built-in ones."""
    facts = {}
    if config.own_datasets and config.task.problem(BUILTIN_CLASSES) and len(config.own_datasets) < len(config.datasets):
        # With a dataset of your own in the grid the config could not check 'positive' against the built-in ones' classes.
        raise ActbenchError(f"task: for the built-in datasets ({BUILTIN_CLASSES} classes) {config.task.problem(BUILTIN_CLASSES)}")
    for name, entry in config.own_datasets.items():
        raw = cache.load(name)
        classes = len(raw.class_names)
        problems = [config.task.problem(classes)] + [output_problem(config.task, output, classes) for output in config.output_activations]
        problem = next((p for p in problems if p), None)
        if problem:
            raise ActbenchError(f"{entry.location}: dataset '{name}' has {classes} classes: {problem}")
        facts[name] = OwnData(sha256=raw.content_sha256, image_shape=raw.image_shape, classes=classes, n_train=len(raw.y_train), n_test=len(raw.y_test))
    return facts


def run_experiment(
    config: ExperimentConfig,
    results_root: Path,
    *,
    data_dir: Path | None = None,
    mirror: str | None = None,
    force: bool = False,
    reporter: QuietReporter | None = None,
    executor: Executor | None = None,
) -> SweepSummary:
    """Plan, skip what is done, hand the rest to the executor, write each record as it comes back."""
    reporter = reporter or QuietReporter()
    results.ensure_writable(results_root)
    request = data_request(config, data_dir, mirror)
    executor = executor or Serial(request)
    executor.start()  # worker processes import TensorFlow while this process plans
    try:
        return _sweep(config, results_root, data_dir, force, reporter, executor, request)
    finally:
        executor.stop()


def _sweep(
    config: ExperimentConfig,
    results_root: Path,
    data_dir: Path | None,
    force: bool,
    reporter: QuietReporter,
    executor: Executor,
    request: DataRequest,
) -> SweepSummary:
    planned, notes = plan_runs(config, results_root, data_dir, cache_for(request))
    for note in notes:
        reporter.warn(note)

    exp_dir = results.experiment_dir(results_root, config.name)
    results.save_experiment(exp_dir, config_as_dict(config), [p.run_id for p in planned])
    pending = [p for p in planned if force or not p.done]
    summary = SweepSummary()
    summary.counts["skipped"] = len(planned) - len(pending)
    specs = {p.run_id: p.spec for p in pending}

    reporter.expect([estimate.seconds for estimate in estimate_runs([p.spec for p in pending], results_root)], executor.parallelism)
    reporter.start(len(planned), len(pending))
    try:
        with Claims(exp_dir) as claims:
            jobs = _claimed_jobs(pending, exp_dir, claims, force, summary, reporter)
            for index, record in enumerate(executor.run(jobs, _ReporterEvents(reporter)), start=1):
                results.save_record(exp_dir, specs[record.run_id].as_json(), record)
                claims.release(record.run_id)
                summary.counts[record.status] += 1
                reporter.run_done(index, record.run_id, _title(specs[record.run_id]), record.status, record.metrics)
    except BaseException:
        # Ctrl-C, a full disk, a data problem: results.csv still shows every run completed so far,
        # if it can be written; the error that stopped the sweep is the one the user sees.
        reporter.finish()
        try:
            _rebuild_results(exp_dir, summary, reporter, shown=notes)
        except ActbenchError as exc:
            reporter.warn(str(exc))
        raise
    reporter.finish()
    _rebuild_results(exp_dir, summary, reporter, shown=notes)
    return summary


def _claimed_jobs(
    pending: list[PlannedRun], exp_dir: Path, claims: Claims, force: bool, summary: SweepSummary, reporter: QuietReporter
) -> Iterator[Job]:
    """The runs to train, each claimed just before it is handed out; one another process holds, or
    finished meanwhile, is left to it."""
    for run in pending:
        if not claims.take(run.run_id):
            summary.counts["elsewhere"] += 1
            reporter.warn(f"{run.run_id} {run.title}: being trained by {claims.holder(run.run_id)}; left to it")
            continue
        if not force and results.is_done(exp_dir, run.run_id):
            claims.release(run.run_id)  # another invocation finished it after this one planned
            summary.counts["skipped"] += 1
            continue
        yield Job(run.spec, run.run_id, run.title)


class _ReporterEvents:
    def __init__(self, reporter: QuietReporter) -> None:
        self.reporter, self.dispatched = reporter, 0

    def started(self, job: Job) -> None:
        self.dispatched += 1
        self.reporter.run_started(self.dispatched, job.run_id, job.title, job.spec.training.epochs)

    def epoch(self, job: Job, epoch: int, row: dict[str, float]) -> None:
        self.reporter.epoch_done(job.run_id, epoch, row)


def _rebuild_results(exp_dir: Path, summary: SweepSummary, reporter: QuietReporter, shown: list[str]) -> None:
    summary.results_csv, _, skipped = results.rebuild_results_csv(exp_dir)
    for note in skipped:
        if note not in shown:  # e.g. the stale runs, already said when the sweep was planned
            reporter.warn(note)
