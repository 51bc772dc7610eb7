"""Where a sweep's events go: sinks. The sweep (actbench.sweep) hands every event to each sink, in the
driver process, and says nothing itself.

    opened(start)            once, before any run: the plan, the estimates
    started(job)             a run started training (on Ray when its task starts, not when it is queued)
    epoch(job, epoch, row)   an epoch ended (serial and worker runs report them; Ray tasks do not)
    retrying(job, why)       its worker died and it is handed out again (Ray retries out of sight)
    left(job, why)           a planned run is not handed out: another invocation holds it (why says so)
                             or has finished it (why is None)
    finished(job, record)    a run's record came back: finished, diverged or failed
    warned(message)          something the user should know: a data fallback, stale runs, a sink that
                             failed to close after the sweep had failed
    closed()                 once, at the end, also after Ctrl-C or an error: the files sink first (what
                             results.csv left out is warned to the rest), then the others, last opened first

files.py is the only writer of results/; console.py is the progress display. Executors return
records and never see a sink, so a sink needs no thread or process safety.

`run --export` is not a sink: it sends the experiment folder as a whole (group statistics over
seeds, re-exports that skip unchanged runs) once the sweep has ended, Ctrl-C included.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from actbench.config import ExperimentConfig
from actbench.executors import Job
from actbench.results import RunRecord
from actbench.tuning import Selection


@dataclass(frozen=True)
class SweepStart:
    """What a sink learns when a sweep opens."""

    exp_dir: Path
    config: ExperimentConfig
    run_ids: list[str]  # every planned run, done or not, in grid order
    pending_seconds: list[
        float
    ]  # the estimated seconds of each run to do (in its pack), in the order they are handed out
    parallelism: int  # how many packs train at once
    pack_sizes: list[int] | None = None  # the packs those runs train in, in that order (None: one run each)
    stage: str = ""  # a tuned experiment's: which of its two stages this is, in words
    selection: Selection | None = None  # a tuned experiment's second stage: the choices it trains


class Sink(Protocol):
    def opened(self, start: SweepStart) -> None: ...

    def started(self, job: Job) -> None: ...

    def epoch(self, job: Job, epoch: int, row: dict[str, float]) -> None: ...

    def retrying(self, job: Job, why: str) -> None: ...

    def left(self, job: Job, why: str | None) -> None: ...

    def finished(self, job: Job, record: RunRecord) -> None: ...

    def warned(self, message: str) -> None: ...

    def closed(self) -> None: ...
