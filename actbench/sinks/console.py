"""The console sink: the sweep's progress display (actbench.progress), rich, plain or quiet."""

from __future__ import annotations

from actbench.executors import Job
from actbench.naming import run_title
from actbench.progress import QuietReporter
from actbench.results import RunRecord
from actbench.sinks import SweepStart


class ConsoleSink:
    def __init__(self, reporter: QuietReporter) -> None:
        self.reporter = reporter
        self.dispatched = 0  # runs handed out so far: each one's number in the display
        self.done = 0

    def opened(self, start: SweepStart) -> None:
        self.reporter.expect(start.pending_seconds, start.parallelism)
        self.reporter.start(len(start.run_ids), len(start.pending_seconds))

    def started(self, job: Job) -> None:
        self.dispatched += 1
        # A narrow display cuts a row's end: what tells runs apart (seed, activation) goes first there.
        title = run_title(job.spec, seed_first=True) if self.reporter.narrow else job.title
        self.reporter.run_started(self.dispatched, job.run_id, title, job.spec.training.epochs)

    def epoch(self, job: Job, epoch: int, row: dict[str, float]) -> None:
        self.reporter.epoch_done(job.run_id, epoch, row)

    def retrying(self, job: Job, why: str) -> None:
        self.reporter.warn(f"{job.run_id[:12]} {job.title}: {why}")

    def finished(self, job: Job, record: RunRecord) -> None:
        self.done += 1
        self.reporter.run_done(self.done, record.run_id, job.title, record.status, record.metrics)

    def closed(self) -> None:
        self.reporter.finish()
