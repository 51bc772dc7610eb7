"""How a sweep shows its progress: a rich display on a terminal, one plain line per run otherwise, or nothing.

The console sink (sinks/console.py) calls the same six methods on whichever reporter `actbench run`
picked, and the runner warns through it. The time left is actbench.costs' estimate of each run
still to come, corrected by how long the finished runs took against their own estimates: rich's
linear rate would assume every run costs the same.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Column
from rich.text import Text

NARROW_COLUMNS = 120  # below this the display drops the bar's length and the epoch's loss


class SweepClock:
    """Seconds left in a sweep from per-run estimates, rescaled by the finished runs' actual/estimated
    ratio and divided among the runs that train at once."""

    def __init__(self, estimates: list[float], parallelism: int = 1, now: Callable[[], float] = time.monotonic) -> None:
        self.estimates = estimates
        self.parallelism = max(1, parallelism)
        self.now = now
        self.dispatched = 0  # runs handed out so far, in order
        self.in_flight: dict[str, tuple[float, float]] = {}  # run id -> (its estimate, when it started)
        self.actual = 0.0
        self.estimated = 0.0

    def run_started(self, run_id: str = "") -> None:
        estimate = self.estimates[self.dispatched] if self.dispatched < len(self.estimates) else 0.0
        self.in_flight[run_id] = (estimate, self.now())
        self.dispatched += 1

    def run_done(self, run_id: str = "", seconds: float | None = None) -> None:
        """`seconds`: the run's own time where it reports one (metrics' run_seconds, what the estimates
        are of); time since dispatch would count a worker still starting as the run's."""
        estimate, started = self.in_flight.pop(run_id, (0.0, self.now()))
        if estimate > 0:
            self.actual += seconds if seconds is not None else self.now() - started
            self.estimated += estimate

    def remaining(self) -> float | None:
        if not self.estimates:
            return None
        scale = self.actual / self.estimated if self.estimated > 0 else 1.0
        now = self.now()
        if self.estimated == 0:
            # Before any run has finished, a run going past its estimate (a busy machine, workers
            # still starting) is the only sign that this machine is slower than the estimates say.
            scale = max([1.0, *((now - started) / estimate for estimate, started in self.in_flight.values() if estimate > 0)])
        later = scale * sum(self.estimates[self.dispatched :])
        current = [max(estimate * scale - (now - started), 0.0) for estimate, started in self.in_flight.values()]
        if self.parallelism == 1:
            return later + sum(current)
        # Runs still to start share the slots with what is in flight; the longest current run bounds it below.
        return max((later + sum(current)) / self.parallelism, max(current, default=0.0))


class _SweepRemainingColumn(TimeRemainingColumn):
    """The sweep's row shows the clock's estimate; a run's epochs keep rich's rate, as epochs cost alike."""

    def __init__(self, clock: Callable[[], SweepClock]) -> None:
        super().__init__()
        self.clock = clock

    def render(self, task: Task) -> Text:
        seconds = self.clock().remaining() if task.fields.get("sweep") else None
        if seconds is None:
            return super().render(task)
        minutes, secs = divmod(round(seconds), 60)
        hours, minutes = divmod(minutes, 60)
        return Text(f"{hours}:{minutes:02d}:{secs:02d}", style="progress.remaining")


class QuietReporter:
    """Prints nothing but warnings (to stderr)."""

    narrow = False  # a display too narrow for a run's whole title: it wants the seed first

    def __init__(self) -> None:
        self.err = Console(stderr=True, highlight=False, soft_wrap=True)

    def expect(self, seconds: list[float], parallelism: int = 1) -> None:
        """The estimated seconds of each run to do, in order, and how many train at once; called before start."""

    def start(self, total: int, pending: int) -> None: ...

    def run_started(self, index: int, run_id: str, title: str, epochs: int) -> None: ...

    def epoch_done(self, run_id: str, epoch: int, row: dict[str, float]) -> None: ...

    def run_done(self, index: int, run_id: str, title: str, status: str, metrics: dict[str, Any]) -> None: ...

    def finish(self) -> None: ...

    def warn(self, message: str) -> None:
        self.err.print(f"warning: {message}", markup=False)


class PlainReporter(QuietReporter):
    """One line per run: stable, greppable output for logs and CI."""

    def __init__(self) -> None:
        super().__init__()
        self.out = Console(highlight=False, soft_wrap=True, no_color=True)
        self.total = 0
        self.clock = SweepClock([])

    def expect(self, seconds: list[float], parallelism: int = 1) -> None:
        self.clock = SweepClock(seconds, parallelism)

    def start(self, total: int, pending: int) -> None:
        from actbench.costs import format_seconds

        self.total = pending
        left = self.clock.remaining()
        estimate = f", about {format_seconds(left)} by estimate" if pending and left else ""
        self.out.print(f"{pending} of {total} runs to do ({total - pending} already finished){estimate}", markup=False)

    def run_done(self, index: int, run_id: str, title: str, status: str, metrics: dict[str, Any]) -> None:
        self.out.print(f"[{index}/{self.total}] {run_id} {title}: {describe_outcome(status, metrics)}", markup=False)


class RichReporter(PlainReporter):
    """A live display: overall runs with ETA, the current run's epochs and its latest metrics."""

    def __init__(self) -> None:
        super().__init__()
        self.out = Console(highlight=False)
        # On a narrow terminal the run's title gives way (ellipsis), never the counts and times.
        self.narrow = self.out.width < NARROW_COLUMNS
        self.progress = Progress(
            TextColumn("{task.description}", table_column=Column(ratio=1, no_wrap=True, overflow="ellipsis")),
            BarColumn(bar_width=10 if self.narrow else 40),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            _SweepRemainingColumn(lambda: self.clock),
            TextColumn("{task.fields[latest]}"),
            console=self.out,
            expand=True,
        )
        self.sweep_task: Any = None
        self.run_tasks: dict[str, Any] = {}  # one row per run in flight

    def start(self, total: int, pending: int) -> None:
        super().start(total, pending)
        self.progress.start()
        self.sweep_task = self.progress.add_task("runs", total=pending, latest="", sweep=True)

    def run_started(self, index: int, run_id: str, title: str, epochs: int) -> None:
        self.clock.run_started(run_id)
        self.run_tasks[run_id] = self.progress.add_task(f"  {title}", total=epochs, latest="")

    def epoch_done(self, run_id: str, epoch: int, row: dict[str, float]) -> None:
        latest = f"val_acc {row.get('val_accuracy', float('nan')):.4f}"
        if not self.narrow:
            latest = f"loss {row.get('loss', float('nan')):.4f}  {latest}"
        self.progress.update(self.run_tasks[run_id], completed=epoch, latest=latest)

    def run_done(self, index: int, run_id: str, title: str, status: str, metrics: dict[str, Any]) -> None:
        self.clock.run_done(run_id, metrics.get("run_seconds"))
        if run_id in self.run_tasks:
            self.progress.remove_task(self.run_tasks.pop(run_id))
        self.progress.console.print(f"[{index}/{self.total}] {run_id} {title}: {describe_outcome(status, metrics)}", markup=False)
        self.progress.advance(self.sweep_task)

    def finish(self) -> None:
        self.progress.stop()

    def warn(self, message: str) -> None:
        # The message is plain text: a `[relu, tanh]` in it is no rich markup to be swallowed.
        self.progress.console.print(Text.assemble(("warning:", "yellow"), f" {message}"))


def describe_outcome(status: str, metrics: dict[str, Any]) -> str:
    if status == "finished":
        return (
            f"test_acc {metrics['test_accuracy']:.4f}  test_loss {metrics['test_loss']:.4f}  "
            f"{metrics['train_seconds']:.1f}s"
        )
    if status == "diverged":
        return f"DIVERGED (loss not finite after {metrics.get('epochs_run', 0)} epochs)"
    return f"FAILED: {metrics.get('error', 'unknown error')}"


def pick_reporter(quiet: bool) -> QuietReporter:
    """Rich on an interactive terminal, plain lines when piped or in CI, nothing with --quiet."""
    if quiet:
        return QuietReporter()
    return RichReporter() if _interactive() else PlainReporter()


def _interactive() -> bool:
    return sys.stdout.isatty() and Console().is_terminal and not Console().is_dumb_terminal


@contextmanager
def export_progress(description: str, quiet: bool) -> Iterator[Callable[[int, int], None]]:
    """A bar for an export on a terminal; nothing when piped, in CI or with --quiet."""
    if quiet or not _interactive():
        yield lambda done, total: None
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), transient=True) as bar:
        task = bar.add_task(description, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)
