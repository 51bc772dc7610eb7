"""Run a sweep: plan, skip finished runs, claim and dispatch the rest to an executor, hand each record to the sinks.

The driver (this process) is the only writer of results/: executors return records, and the files
sink writes each atomically as it arrives, so a kill at any moment loses nothing that finished.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

from actbench import packing, results
from actbench.claims import Claims
from actbench.config import ExperimentConfig
from actbench.costs import estimate_runs
from actbench.datasets.cache import DataRequest, cache_for, data_request
from actbench.errors import ActbenchError
from actbench.executors import Executor, Job, Pack, Serial
from actbench.plan import PlannedRun, plan_runs
from actbench.progress import QuietReporter
from actbench.results import RunStatus
from actbench.sinks import Sink, SweepStart
from actbench.sinks.console import ConsoleSink
from actbench.sinks.files import FilesSink


@dataclass
class SweepSummary:
    results_csv: Path | None = None
    counts: dict[str, int] = field(
        default_factory=lambda: {**{status.value: 0 for status in RunStatus}, "skipped": 0, "elsewhere": 0}
    )


def run_experiment(
    config: ExperimentConfig,
    results_root: Path,
    *,
    data_dir: Path | None = None,
    mirror: str | None = None,
    force: bool = False,
    reporter: QuietReporter | None = None,
    executor: Executor | None = None,
    sinks: Sequence[Sink] = (),
    pack: str = "off",
) -> SweepSummary:
    """Plan, skip what is done, hand the rest to the executor, and every event to the files sink, the
    console (`reporter`, which also shows warnings) and any further `sinks`, in that order.
    `pack`: off, auto or a largest pack size (see actbench.packing)."""
    reporter = reporter or QuietReporter()
    results.ensure_writable(results_root)
    request = data_request(config, data_dir, mirror)
    executor = executor or Serial(request)
    executor.start()  # worker processes import TensorFlow while this process plans
    try:
        return _sweep(config, results_root, data_dir, force, reporter, executor, request, sinks, pack)
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
    sinks: Sequence[Sink],
    pack: str,
) -> SweepSummary:
    planned, notes = plan_runs(config, results_root, data_dir, cache_for(request))
    for note in notes:
        reporter.warn(note)

    exp_dir = results.experiment_dir(results_root, config.name)
    # In the order they are handed out: the runs of a pack together (the display's estimates follow it).
    planned_packs = packing.plan_packs([p for p in planned if force or not p.done], pack, executor.parallelism)
    pending = [run for runs in planned_packs for run in runs]
    summary = SweepSummary()
    summary.counts["skipped"] = len(planned) - len(pending)
    estimates = [estimate.seconds for estimate in estimate_runs([p.spec for p in pending], results_root)]
    files = FilesSink(exp_dir)
    every = [files, ConsoleSink(reporter), *sinks]
    for sink in every:
        sink.opened(SweepStart(exp_dir, config, [p.run_id for p in planned], estimates, executor.parallelism))
    try:
        with Claims(exp_dir) as claims:
            jobs = {p.run_id: Job(p.spec, p.run_id, p.title) for p in pending}
            claimed = _claimed_packs(planned_packs, jobs, exp_dir, claims, force, summary, reporter)
            for record in executor.run(claimed, _Broadcast(every)):
                for sink in every:
                    sink.finished(jobs[record.run_id], record)
                claims.release(record.run_id)
                summary.counts[record.status] += 1
    except BaseException:
        # Ctrl-C, a full disk, a data problem: results.csv still shows every run completed so far,
        # if it can be written; the error that stopped the sweep is the one the user sees.
        _close(every, reporter, sweep_failed=True)
        _warn_skipped(files, reporter, shown=notes)
        raise
    _close(every, reporter, sweep_failed=False)
    _warn_skipped(files, reporter, shown=notes)
    summary.results_csv = files.results_csv
    return summary


def _claimed_packs(
    planned: list[list[PlannedRun]], jobs: dict[str, Job], exp_dir: Path, claims: Claims, force: bool, summary: SweepSummary, reporter: QuietReporter
) -> Iterator[Pack]:
    """The packs to train, every run of each claimed just before the pack is handed out; a run another
    process holds, or that finished meanwhile, is left out of its pack."""
    for runs in planned:
        claimed = []
        for run in runs:
            if not claims.take(run.run_id):
                summary.counts["elsewhere"] += 1
                reporter.warn(f"{run.run_id} {run.title}: being trained by {claims.holder(run.run_id)}; left to it")
                continue
            if not force and results.is_done(exp_dir, run.run_id):
                claims.release(run.run_id)  # another invocation finished it after this one planned
                summary.counts["skipped"] += 1
                continue
            claimed.append(jobs[run.run_id])
        if claimed:
            yield Pack(tuple(claimed))


class _Broadcast:
    """The executor's events, passed on to every sink."""

    def __init__(self, sinks: list[Sink]) -> None:
        self.sinks = sinks

    def started(self, job: Job) -> None:
        for sink in self.sinks:
            sink.started(job)

    def epoch(self, job: Job, epoch: int, row: dict[str, float]) -> None:
        for sink in self.sinks:
            sink.epoch(job, epoch, row)

    def retrying(self, job: Job, why: str) -> None:
        for sink in self.sinks:
            sink.retrying(job, why)


def _close(sinks: list[Sink], reporter: QuietReporter, sweep_failed: bool) -> None:
    """Close every sink, the last opened first (the display stops before results.csv is rebuilt).
    A sink that cannot close is an error once all are closed, or only a warning when the sweep
    has already failed: then the sweep's own error is the one the user sees."""
    error = None
    for sink in reversed(sinks):
        try:
            sink.closed()
        except ActbenchError as exc:
            if sweep_failed:
                reporter.warn(str(exc))
            else:
                error = error or exc
    if error is not None:
        raise error


def _warn_skipped(files: FilesSink, reporter: QuietReporter, shown: list[str]) -> None:
    for note in files.skipped:
        if note not in shown:  # e.g. the stale runs, already said when the sweep was planned
            reporter.warn(note)
