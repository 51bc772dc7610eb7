"""The console sink: the sweep's events on the terminal (a display from actbench.progress), and under
--quiet each failed run as one line on stderr."""

from __future__ import annotations

from actbench.executors import Job
from actbench.naming import run_title
from actbench.progress import Display, sweep_display
from actbench.results import RunRecord, RunStatus
from actbench.sinks import SweepStart
from actbench.terminal import Terminal


class ConsoleSink:
    def __init__(self, terminal: Terminal, display: Display | None = None) -> None:
        self.terminal = terminal
        self.display = display or sweep_display(terminal)

    def opened(self, start: SweepStart) -> None:
        self.display.start(len(start.run_ids), start.pending_seconds, start.parallelism, start.pack_sizes)

    def started(self, job: Job) -> None:
        # A narrow display cuts a row's end: what tells runs apart (seed, activation) goes first there.
        title = run_title(job.spec, seed_first=True) if self.display.narrow else job.title
        self.display.run_started(job.run_id, title, job.spec.training.epochs)

    def epoch(self, job: Job, epoch: int, row: dict[str, float]) -> None:
        self.display.epoch_done(job.run_id, epoch, row)

    def retrying(self, job: Job, why: str) -> None:
        self.display.warn(f"{job.run_id[:12]} {job.title}: {why}")

    def left(self, job: Job, why: str | None) -> None:
        self.display.run_left()
        if why:
            self.display.warn(f"{job.run_id} {job.title}: {why}")

    def finished(self, job: Job, record: RunRecord) -> None:
        title = run_title(job.spec, seed_first=True) if self.display.narrow else job.title
        self.display.run_done(record.run_id, title, record.status, record.metrics)
        if record.status == RunStatus.FAILED and self.terminal.quiet:
            error = (str(record.metrics.get("error") or "unknown error").splitlines() or [""])[0]
            self.terminal.failure(f"failed: {record.run_id} {job.title}: {error}")

    def warned(self, message: str) -> None:
        self.display.warn(message)

    def closed(self) -> None:
        self.display.finish()
