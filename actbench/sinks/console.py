"""The console sink: the sweep's events on the terminal (a display from actbench.progress), and under
--quiet each failed run as one line on stderr.

On a live display a run is shown by its label: its title less what every run of the config shares
(one dataset, one output layer, ...), which a heading says once above the runs, so that a label fits
a terminal's row without being cut; the detail the plan adds where other settings vary stays. Plain
lines (a log) keep whole titles: each stands alone."""

from __future__ import annotations

from actbench.config import ExperimentConfig
from actbench.executors import Job
from actbench.naming import run_label, run_title, shared_label
from actbench.progress import Display, sweep_display
from actbench.results import RunRecord, RunStatus
from actbench.sinks import SweepStart
from actbench.terminal import Terminal


def shared_parts(config: ExperimentConfig) -> frozenset[str]:
    """The parts of a run's title (naming.title_parts) that every run of `config` shares: each from a
    list of the config with one entry."""
    values = {
        "data": config.datasets,
        "model": {model.type for model in config.models},
        "hidden": config.hidden_activations,
        "output": config.output_activations,
        "seed": config.seeds,
    }
    return frozenset(part for part, listed in values.items() if len(listed) == 1)


class ConsoleSink:
    def __init__(self, terminal: Terminal, display: Display | None = None) -> None:
        self.terminal = terminal
        self.given = display  # a display of the caller's, else one made anew each time a sweep (a stage) opens
        self.display = display or sweep_display(terminal)
        self.shared: frozenset[str] = frozenset()
        self.headed = False  # the heading says what the labels leave out, once

    def opened(self, start: SweepStart) -> None:
        if start.stage:  # a tuned experiment's stage: which, and what it does, each on a display of its own
            self.terminal.info(start.stage)
            self.display, self.headed = self.given or sweep_display(self.terminal), False
        self.shared = shared_parts(start.config)
        self.display.start(len(start.run_ids), start.pending_seconds, start.parallelism, start.pack_sizes)

    def name(self, job: Job) -> str:
        """The run as the display names it: its label (its whole title where the config has one run), or
        its whole title for a display without labels."""
        if not self.display.labelled:
            return job.title
        detail = job.title.removeprefix(run_title(job.spec)).removeprefix(", ")  # plan.PlannedRun.title's
        return ", ".join(filter(None, [run_label(job.spec, self.shared), detail])) or job.title

    def started(self, job: Job) -> None:
        name = self.name(job)
        if not self.headed and name != job.title:
            self.display.heading(f"every run: {shared_label(job.spec, self.shared)}")
        self.headed = True
        self.display.run_started(job.run_id, name, job.spec)

    def epoch(self, job: Job, epoch: int, row: dict[str, float]) -> None:
        self.display.epoch_done(job.run_id, epoch, row)

    def retrying(self, job: Job, why: str) -> None:
        self.display.warn(f"{job.run_id[:12]} {job.title}: {why}")

    def left(self, job: Job, why: str | None) -> None:
        self.display.run_left()
        if why:
            self.display.warn(f"{job.run_id} {job.title}: {why}")

    def finished(self, job: Job, record: RunRecord) -> None:
        self.display.run_done(record.run_id, self.name(job), record.status, record.metrics)
        if record.status == RunStatus.FAILED and self.terminal.quiet:
            error = (str(record.metrics.get("error") or "unknown error").splitlines() or [""])[0]
            self.terminal.failure(f"failed: {record.run_id} {job.title}: {error}")

    def warned(self, message: str) -> None:
        self.display.warn(message)

    def closed(self) -> None:
        self.display.finish()
