"""How a sweep shows its progress: a live display on a terminal, one plain line per run otherwise, or
nothing (--quiet). The console sink (sinks/console.py) drives whichever display the terminal wants.

The time left is actbench.costs' estimate of each run still to come, corrected by how long the
finished runs took against their own estimates: rich's linear rate would assume every run costs the same.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

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

from actbench.costs import makespan
from actbench.results import RunStatus
from actbench.terminal import Terminal

NARROW_COLUMNS = 120  # below this the display drops the bar's length and the epoch's loss
LEAST_LEFT = 1.0  # seconds: the least time left of a pack with epochs still to do (never 0:00:00)


class SweepClock:
    """Seconds left in a sweep from per-run estimates, rescaled by the finished runs' actual/estimated
    ratio, the packs to come handed to the workers as they free up.

    The runs of a pack start together and finish together: a pack in flight counts once; counted run
    by run, a pack of 8 would have its elapsed time taken off 8 times. Once its runs have reported an
    epoch, its time left is its epochs still to do at the pace of its epochs after the first (the
    first also builds, traces and compiles; with one epoch done, at that epoch's pace), counted from
    its latest epoch; before that, its estimate less the time since it started. While it has epochs
    to do it never reads less than a second: past its estimate or late for an epoch, it is not done."""

    def __init__(
        self,
        estimates: list[float],
        parallelism: int = 1,
        now: Callable[[], float] = time.monotonic,
        pack_sizes: list[int] | None = None,
    ) -> None:
        self.estimates = list(estimates)
        # Each run's pack, in the order the runs are handed out (without packs, each run its own).
        sizes = pack_sizes if pack_sizes is not None else [1] * len(self.estimates)
        self.pack_of = [number for number, size in enumerate(sizes) for _ in range(size)]
        self.parallelism = max(1, parallelism)
        self.now = now
        self.dispatched = 0  # runs handed out so far, in order
        self.in_flight: dict[str, tuple[float, int]] = {}  # run id -> (its estimate, its pack)
        self.pack_started: dict[int, float] = {}  # pack -> when its first run started
        self.epochs: dict[str, int] = {}  # run id in flight -> its epochs (0: not known)
        # pack in flight -> (the epochs its runs have done, when the first of them ended, when the latest did)
        self.pack_epochs: dict[int, tuple[int, float, float]] = {}
        self.actual = 0.0
        self.estimated = 0.0

    def run_started(self, run_id: str = "", epochs: int = 0) -> None:
        index = self.dispatched
        estimate = self.estimates[index] if index < len(self.estimates) else 0.0
        pack = self.pack_of[index] if index < len(self.pack_of) else -1 - index
        self.pack_started.setdefault(pack, self.now())
        self.in_flight[run_id] = (estimate, pack)
        self.epochs[run_id] = epochs
        self.dispatched += 1

    def epoch_done(self, run_id: str, epoch: int) -> None:
        """The runs of a pack report each epoch one after the other: the first to reach it dates it."""
        if run_id not in self.in_flight:
            return
        pack = self.in_flight[run_id][1]
        done, first, _ = self.pack_epochs.get(pack, (0, 0.0, 0.0))
        if epoch > done:
            now = self.now()
            self.pack_epochs[pack] = (epoch, first if done else now, now)

    def run_left(self) -> None:
        """The next run will not be handed out (another invocation trains it): its time is not this sweep's."""
        if self.dispatched < len(self.estimates):
            del self.estimates[self.dispatched]
            del self.pack_of[self.dispatched]

    def run_done(self, run_id: str = "", seconds: float | None = None) -> None:
        """`seconds`: the run's own time where it reports one (metrics' run_seconds, what the estimates
        are of: in a pack, its share of the pack's); time since dispatch would count a worker still
        starting as the run's."""
        now = self.now()
        estimate, pack = self.in_flight.pop(run_id, (0.0, None))
        self.epochs.pop(run_id, None)
        started = self.pack_started.get(pack, now) if pack is not None else now
        if pack is not None and all(other != pack for _, other in self.in_flight.values()):
            del self.pack_started[pack]
            self.pack_epochs.pop(pack, None)
        if estimate > 0:
            runs = sum(1 for p in self.pack_of if p == pack) or 1
            self.actual += seconds if seconds is not None else (now - started) / runs
            self.estimated += estimate

    def remaining(self) -> float | None:
        if not self.estimates:
            return None
        now = self.now()
        packs: dict[int, float] = {}  # each pack in flight: the estimate of its runs still training
        epochs: dict[int, int] = {}  # each pack in flight: its runs' epochs (0: not known)
        for run_id, (estimate, pack) in self.in_flight.items():
            packs[pack] = packs.get(pack, 0.0) + estimate
            epochs[pack] = max(epochs.get(pack, 0), self.epochs.get(run_id, 0))
        by_epochs = {pack: self._left_by_epochs(pack, epochs[pack], now) for pack in packs}
        scale = self.actual / self.estimated if self.estimated > 0 else 1.0
        if self.estimated == 0:
            # Before any run has finished, a pack going past its estimate (a busy machine, workers
            # still starting) is the only sign that this machine is slower than the estimates say:
            # its elapsed time, and its epochs' time left where they tell it, against its estimate.
            scale = max(
                [
                    1.0,
                    *(
                        (now - self.pack_started[pack] + (by_epochs[pack] or 0.0)) / estimate
                        for pack, estimate in packs.items()
                        if estimate > 0
                    ),
                ]
            )
        later: dict[int, float] = {}  # each pack still to start: its runs' estimates together
        for estimate, pack in zip(self.estimates[self.dispatched :], self.pack_of[self.dispatched :]):
            later[pack] = later.get(pack, 0.0) + scale * estimate
        current = []
        for pack, estimate in packs.items():
            left = by_epochs[pack]
            if left is None:  # no epoch yet: its estimate less its time so far
                left = max(estimate * scale - (now - self.pack_started[pack]), LEAST_LEFT if epochs[pack] else 0.0)
            current.append(left)
        # Packs still to start take the first worker free, as they will (the dry run's total, from now).
        return makespan(list(later.values()), self.parallelism, busy=current)

    def _left_by_epochs(self, pack: int, epochs: int, now: float) -> float | None:
        """A pack's seconds left from its epochs; None before its first epoch or where they are not known."""
        done, first, latest = self.pack_epochs.get(pack, (0, 0.0, 0.0))
        if not done or not epochs:
            return None
        if done >= epochs:
            return 0.0  # testing and saving: no epoch left to count
        # The epochs after the first are the pace the rest will keep; the first also traced and compiled.
        pace = (latest - first) / (done - 1) if done > 1 else first - self.pack_started[pack]
        # Late for its next epoch: the epochs after it still to do, and never less than LEAST_LEFT.
        return max(pace * (epochs - done) - (now - latest), pace * (epochs - done - 1), LEAST_LEFT)


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


class Display(Protocol):
    narrow: bool  # too narrow for a run's whole title: it wants the seed first

    def start(self, total: int, estimates: list[float], parallelism: int, pack_sizes: list[int] | None = None) -> None:
        """`total` planned runs; `estimates`: the seconds of each run to do, in the order they are handed
        out; `pack_sizes`: the packs they train in, in that order (None: one run each)."""

    def run_started(self, run_id: str, title: str, epochs: int) -> None: ...

    def epoch_done(self, run_id: str, epoch: int, row: dict[str, float]) -> None: ...

    def run_left(self) -> None:
        """A planned run is not handed out after all: another invocation holds it or finished it."""

    def run_done(self, run_id: str, title: str, status: RunStatus, metrics: dict[str, Any]) -> None: ...

    def warn(self, message: str) -> None: ...

    def finish(self) -> None: ...


class NullDisplay:
    """--quiet: no progress; warnings still reach stderr (and the console sink says each failed run)."""

    narrow = False

    def __init__(self, terminal: Terminal) -> None:
        self.terminal = terminal

    def start(
        self, total: int, estimates: list[float], parallelism: int, pack_sizes: list[int] | None = None
    ) -> None: ...

    def run_started(self, run_id: str, title: str, epochs: int) -> None: ...

    def epoch_done(self, run_id: str, epoch: int, row: dict[str, float]) -> None: ...

    def run_left(self) -> None: ...

    def run_done(self, run_id: str, title: str, status: RunStatus, metrics: dict[str, Any]) -> None: ...

    def warn(self, message: str) -> None:
        self.terminal.warn(message)

    def finish(self) -> None: ...


class PlainDisplay:
    """One line per run: stable, greppable output for logs and CI."""

    narrow = False

    def __init__(self, terminal: Terminal) -> None:
        self.terminal = terminal
        self.total = 0  # runs this invocation trains
        self.done = 0
        self.clock = SweepClock([])

    def start(self, total: int, estimates: list[float], parallelism: int, pack_sizes: list[int] | None = None) -> None:
        from actbench.costs import format_seconds

        self.clock = SweepClock(estimates, parallelism, pack_sizes=pack_sizes)
        self.total = pending = len(estimates)
        if not pending:
            return  # nothing to train: the summary says it all
        left = self.clock.remaining()
        estimate = f", about {format_seconds(left)} by estimate" if left else ""
        self.terminal.info(f"{pending} of {total} runs to do ({total - pending} already finished){estimate}")

    def run_started(self, run_id: str, title: str, epochs: int) -> None: ...

    def epoch_done(self, run_id: str, epoch: int, row: dict[str, float]) -> None: ...

    def run_left(self) -> None:
        self.total -= 1
        self.clock.run_left()

    def run_done(self, run_id: str, title: str, status: RunStatus, metrics: dict[str, Any]) -> None:
        self.done += 1
        self.terminal.info(f"[{self.done}/{self.total}] {run_id} {title}: {describe_outcome(status, metrics)}")

    def warn(self, message: str) -> None:
        self.terminal.warn(message)

    def finish(self) -> None: ...


class LiveDisplay(PlainDisplay):
    """A live display: overall runs with ETA, each run in flight with its epochs and latest metrics, and
    above them one line per finished run, cut to the terminal's width.

    rich's own refresh thread redraws while this thread prints a finished line, and rich moves the
    cursor back by the height of the display before either draws: two draws at once leave a stale bar
    or erase a finished line. Every draw here holds one lock, the ticking thread's included."""

    TICK = 0.5  # seconds between redraws of the elapsed time and the time left

    def __init__(self, terminal: Terminal) -> None:
        super().__init__(terminal)
        # On a narrow terminal the run's title gives way (ellipsis), never the counts and times.
        self.narrow = terminal.out.width < NARROW_COLUMNS
        self.progress = Progress(
            TextColumn("{task.description}", table_column=Column(ratio=1, no_wrap=True, overflow="ellipsis")),
            BarColumn(bar_width=10 if self.narrow else 40),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            _SweepRemainingColumn(lambda: self.clock),
            TextColumn("{task.fields[latest]}"),
            console=terminal.out,
            expand=True,
            auto_refresh=False,
        )
        self.lock = threading.RLock()
        self.stopped = threading.Event()
        self.ticker: threading.Thread | None = None
        self.sweep_task: Any = None
        self.run_tasks: dict[str, Any] = {}  # one row per run in flight

    def start(self, total: int, estimates: list[float], parallelism: int, pack_sizes: list[int] | None = None) -> None:
        super().start(total, estimates, parallelism, pack_sizes)
        if not self.total:
            return  # nothing to train: no bar
        with self.lock:
            self.progress.start()
            self.sweep_task = self.progress.add_task("runs", total=self.total, latest="", sweep=True)
        self.ticker = threading.Thread(target=self._tick, name="actbench-display", daemon=True)
        self.ticker.start()

    def _tick(self) -> None:
        while not self.stopped.wait(self.TICK):
            with self.lock:
                self.progress.refresh()

    def run_started(self, run_id: str, title: str, epochs: int) -> None:
        with self.lock:
            self.clock.run_started(run_id, epochs)
            self.run_tasks[run_id] = self.progress.add_task(f"  {title}", total=epochs, latest="")

    def epoch_done(self, run_id: str, epoch: int, row: dict[str, float]) -> None:
        latest = f"val_acc {row.get('val_accuracy', float('nan')):.4f}"
        if not self.narrow:
            latest = f"loss {row.get('loss', float('nan')):.4f}  {latest}"
        with self.lock:
            self.clock.epoch_done(run_id, epoch)
            self.progress.update(self.run_tasks[run_id], completed=epoch, latest=latest)
            self.progress.refresh()

    def run_left(self) -> None:
        with self.lock:
            super().run_left()
            if self.sweep_task is not None:
                self.progress.update(self.sweep_task, total=self.total)

    def run_done(self, run_id: str, title: str, status: RunStatus, metrics: dict[str, Any]) -> None:
        with self.lock:
            self.done += 1
            self.clock.run_done(run_id, metrics.get("run_seconds"))
            if run_id in self.run_tasks:
                self.progress.remove_task(self.run_tasks.pop(run_id))
            self.progress.console.print(self.finished_line(run_id, title, status, metrics))
            self.progress.advance(self.sweep_task)
            self.progress.refresh()

    def finished_line(self, run_id: str, title: str, status: RunStatus, metrics: dict[str, Any]) -> str:
        """`[3/12] id title: outcome` in one line of the terminal: the title gives way first (it is in
        results.csv whole), then a failure's message; the counts and accuracy never do."""
        outcome = describe_outcome(status, metrics, short=self.narrow)
        head = f"[{self.done}/{self.total}] {run_id} "
        room = self.progress.console.width - len(head) - len(outcome) - 2
        if len(title) > room:
            title = title[: max(room - 1, 12)] + "…"
        line = f"{head}{title}: {outcome}"
        width = self.progress.console.width
        return line if len(line) <= width else line[: width - 1] + "…"

    def warn(self, message: str) -> None:
        with self.lock:
            # The message is plain text: a `[relu, tanh]` in it is no rich markup to be swallowed.
            self.progress.console.print(Text.assemble(("warning:", "yellow"), f" {message}"))

    def finish(self) -> None:
        self.stopped.set()
        if self.ticker is not None:
            self.ticker.join()
        with self.lock:
            self.progress.stop()


def describe_outcome(status: RunStatus, metrics: dict[str, Any], short: bool = False) -> str:
    if status == RunStatus.FINISHED:
        accuracy, loss = ("acc", "loss") if short else ("test_acc", "test_loss")
        return f"{accuracy} {metrics['test_accuracy']:.4f}  {loss} {metrics['test_loss']:.4f}  {metrics['train_seconds']:.1f}s"
    if status == RunStatus.DIVERGED:
        return f"DIVERGED (loss not finite after {metrics.get('epochs_run', 0)} epochs)"
    return f"FAILED: {metrics.get('error', 'unknown error')}"


def sweep_display(terminal: Terminal) -> Display:
    """Live on an interactive terminal, plain lines when piped or in CI, nothing with --quiet."""
    if terminal.quiet:
        return NullDisplay(terminal)
    return LiveDisplay(terminal) if terminal.interactive else PlainDisplay(terminal)
