"""How a sweep shows its progress: a live display on a terminal, one plain line per run otherwise, or
nothing (--quiet). The console sink (sinks/console.py) drives whichever display the terminal wants.

The time left, on the sweep's row and on each run's, comes from one SweepClock: actbench.costs'
estimate of each run, in the phases a run passes, rescaled by how fast this machine has shown itself
against the estimates (rich's linear rate would assume every run costs the same).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from rich.console import Group, RenderableType
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Column
from rich.text import Text

from actbench import costs
from actbench.costs import Phases, makespan
from actbench.results import RunStatus
from actbench.terminal import Terminal

if TYPE_CHECKING:
    from actbench.config import RunSpec

NARROW_COLUMNS = 120  # below this the display drops the bars, the elapsed column, the run id and the loss
LEAST_LEFT = 1.0  # seconds: the least time left of a pack with epochs still to do (never 0:00:00)
PRIOR_SECONDS = 5.0  # how much the estimates weigh against what the sweep has measured, in seconds of it


@dataclass
class _Pack:
    """A pack in flight as the clock follows it: its runs' estimates in phases (actbench.costs), and when
    its epochs ended."""

    started: float
    warm: bool  # started after some pack had ended an epoch: its first epoch starts nothing up
    phases: Phases = field(default_factory=lambda: Phases(0.0, 0.0, 0.0, 0))
    runs: int = 0  # its runs in flight
    seconds: float = 0.0  # its finished runs' own seconds (run_seconds: their shares of its wall time)
    done: int = 0  # epochs ended
    first: float = 0.0  # when its first epoch ended
    latest: float = 0.0  # when its latest epoch ended

    def evidence(self) -> tuple[float, float] | None:
        """(seconds it took, seconds estimated) for the part of it that tells this machine's pace: its
        epochs after the first, and a warm pack's first epoch with what came before it. A cold pack's
        first epoch also started a process, imported TensorFlow or waited for a worker: it tells nothing."""
        if self.done >= 2:
            return self.latest - self.first, (self.done - 1) * self.phases.epoch
        if self.done == 1 and self.warm:
            return self.first - self.started, self.phases.before + self.phases.epoch
        return None

    def under_way(self, now: float) -> tuple[float, float] | None:
        """(seconds so far, seconds estimated) of the epoch under way (but a cold pack's first)."""
        if not self.done:
            return (now - self.started, self.phases.before + self.phases.epoch) if self.warm else None
        return (now - self.latest, self.phases.epoch) if self.done < self.phases.epochs else None

    def left(self, now: float, scale: float, floors: bool) -> float:
        """Seconds left of it: its estimate's phases at its own pace once its epochs tell it, at `scale`
        before. Late for its next epoch, that epoch already shows a slower pace: the rest at that one."""
        phases, elapsed = self.phases, now - self.started
        if not floors or phases.epochs == 0:  # no epochs to follow (on Ray none are reported): a countdown
            return max(scale * phases.total - elapsed, 0.0)
        if not self.done:
            to_first = phases.before + phases.epoch
            if not self.warm:  # its lateness may be starting up: at least the epochs after its first
                return max(scale * phases.total - elapsed, scale * (phases.total - to_first), LEAST_LEFT)
            ratio = max(scale, elapsed / to_first) if to_first > 0 else scale
            return max(ratio * phases.total - elapsed, LEAST_LEFT)
        ratio, since = self._ratio(scale), now - self.latest
        epochs_left = phases.epochs - self.done
        if epochs_left <= 0:  # testing, then saving: it may read 0:00:00
            return max(ratio * phases.after - since, 0.0)
        if phases.epoch > 0:
            ratio = max(ratio, since / phases.epoch)
        return max(ratio * (epochs_left * phases.epoch + phases.after) - since, LEAST_LEFT)

    def _ratio(self, scale: float) -> float:
        """Its seconds per estimated second once an epoch has ended: its epochs after the first; with one
        ended, a warm pack's first epoch with what came before it, a cold pack the sweep's scale."""
        if self.phases.epoch <= 0:
            return scale
        if self.done >= 2:
            return (self.latest - self.first) / (self.done - 1) / self.phases.epoch
        if self.warm:
            return (self.first - self.started) / (self.phases.before + self.phases.epoch)
        return scale


class SweepClock:
    """Seconds left in a sweep, from each run's estimate (actbench.costs) in the phases a run passes
    (building and tracing, its epochs, testing), rescaled by how fast this machine has been against the
    estimates; the packs to come are handed to the workers as they free up.

    The runs of a pack start together and finish together: a pack in flight counts once, with one time
    left that every row of its runs shows. Its epochs tell its pace; before its first epoch ends, its
    estimate counts down, but never below the epochs after the first and testing: it is not done.
    A pack's first epoch also builds and traces, and the first packs of a sweep also import
    TensorFlow or wait for their worker, so the scale learns from the epochs after the first, and from
    a first epoch only where the pack started once the sweep had ended an epoch (warm)."""

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
        self.packs: dict[int, _Pack] = {}  # the packs in flight
        self.pack_of_run: dict[str, int] = {}  # run id in flight -> its pack
        # What the finished packs showed: seconds measured against the seconds estimated for the same parts.
        self.measured = 0.0
        self.expected = 0.0
        # Whether the executor reports epochs (on Ray it does not): None until a pack ends an epoch or finishes.
        self.epochs_reported: bool | None = None

    def run_started(self, run_id: str = "", epochs: int = 0, spec: RunSpec | None = None) -> None:
        """`spec` splits the run's estimate into its phases; without it, its epochs share it alike."""
        index = self.dispatched
        estimate = self.estimates[index] if index < len(self.estimates) else 0.0
        number = self.pack_of[index] if index < len(self.pack_of) else -1 - index
        if spec is not None and estimate > 0:
            phases = costs.phases(spec, estimate, self.pack_of.count(number) or 1)
        else:
            phases = Phases(0.0, estimate / epochs, 0.0, epochs) if epochs else Phases(estimate, 0.0, 0.0, 0)
        pack = self.packs.setdefault(number, _Pack(self.now(), warm=self.epochs_reported is True))
        pack.phases += phases
        pack.runs += 1
        self.pack_of_run[run_id] = number
        self.dispatched += 1

    def epoch_done(self, run_id: str, epoch: int) -> None:
        """The runs of a pack report each epoch one after the other: the first to reach it dates it."""
        pack = self._pack_of(run_id)
        if pack is None or epoch <= pack.done:
            return
        now = self.now()
        pack.first = pack.first if pack.done else now
        pack.done, pack.latest = epoch, now
        self.epochs_reported = True

    def _pack_of(self, run_id: str) -> _Pack | None:
        number = self.pack_of_run.get(run_id)
        return None if number is None else self.packs.get(number)

    def run_left(self) -> None:
        """The next run will not be handed out (another invocation trains it): its time is not this sweep's."""
        if self.dispatched < len(self.estimates):
            del self.estimates[self.dispatched]
            del self.pack_of[self.dispatched]

    def run_done(self, run_id: str = "", seconds: float | None = None) -> None:
        """`seconds`: the run's own time where it reports one (metrics' run_seconds: in a pack, its share
        of the pack's wall time), for a pack that reported no epochs; time since dispatch would count a
        worker still starting as the run's."""
        number = self.pack_of_run.pop(run_id, None)
        if number not in self.packs:
            return
        pack = self.packs[number]
        pack.runs -= 1
        pack.seconds += seconds if seconds is not None else 0.0
        if pack.runs > 0:
            return
        del self.packs[number]
        evidence = pack.evidence()
        if evidence is None and not pack.done:  # no epoch reported: its whole time is all there is
            if self.epochs_reported is None:
                self.epochs_reported = False
            evidence = (pack.seconds or self.now() - pack.started, pack.phases.total)
        if evidence is not None:
            self.measured += evidence[0]
            self.expected += evidence[1]

    def scale(self) -> float:
        """This machine's seconds per estimated second, from the finished packs and those in flight; the
        estimates count as PRIOR_SECONDS of evidence, so a pace seen over a second or two (a few small
        epochs) does not rescale a whole sweep. An epoch under way that has already run longer than
        that says the machine is at least that slow: it counts from then on (so without a jump)."""
        measured, expected = self.measured + PRIOR_SECONDS, self.expected + PRIOR_SECONDS
        for evidence in filter(None, (pack.evidence() for pack in self.packs.values())):
            measured += evidence[0]
            expected += evidence[1]
        scale, now = measured / expected, self.now()
        for under_way in filter(None, (pack.under_way(now) for pack in self.packs.values())):
            if under_way[0] > scale * under_way[1]:
                measured += under_way[0]
                expected += under_way[1]
        return measured / expected

    def pack_left(self, run_id: str) -> float | None:
        """The seconds left of the pack this run trains in: what its row shows."""
        pack = self._pack_of(run_id)
        if pack is None:
            return None
        return pack.left(self.now(), self.scale(), self.epochs_reported is not False)

    def remaining(self) -> float | None:
        if not self.estimates:
            return None
        now, scale = self.now(), self.scale()
        floors = self.epochs_reported is not False
        later: dict[int, float] = {}  # each pack still to start: its runs' estimates together
        for estimate, number in zip(self.estimates[self.dispatched :], self.pack_of[self.dispatched :]):
            later[number] = later.get(number, 0.0) + scale * estimate
        busy = [pack.left(now, scale, floors) for pack in self.packs.values()]
        # Packs still to start take the first worker free, as they will (the dry run's total, from now).
        return makespan(list(later.values()), self.parallelism, busy=busy)


def clock_text(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


class _LabelColumn(ProgressColumn):
    """A row's label, whole: one too long for its column goes on onto a second line rather than lose
    text. Without an elapsed column (a narrow terminal) the sweep's row says its time so far here."""

    def __init__(self, with_elapsed: bool) -> None:
        super().__init__(table_column=Column(ratio=1, overflow="fold"))
        self.with_elapsed = with_elapsed

    def render(self, task: Task) -> Text:
        if self.with_elapsed and task.fields.get("sweep"):
            return Text(f"{task.description}, {clock_text(task.elapsed or 0.0)} elapsed")
        return Text(task.description)


class _TimeLeftColumn(ProgressColumn):
    """`eta 0:01:05` from the one SweepClock: the sweep's time left on its row, its pack's on a run's
    (the runs of a pack end together). rich's own rate would assume every run costs the same, and its
    epochs' rate would count the first epoch's tracing as their pace."""

    def __init__(self, clock: Callable[[], SweepClock]) -> None:
        super().__init__(table_column=Column(min_width=len("eta 0:00:00"), justify="right", no_wrap=True))
        self.clock = clock

    def render(self, task: Task) -> Text:
        clock = self.clock()
        seconds = clock.remaining() if task.fields.get("sweep") else clock.pack_left(task.fields.get("run_id", ""))
        return Text(f"eta {'-:--:--' if seconds is None else clock_text(seconds)}", style="progress.remaining")


class _Progress(Progress):
    """rich's Progress with an empty line under its rows while it runs, where the cursor waits: what the
    terminal echoes there (`^C` on Ctrl-C) stays on that line. Echoed after a last row as wide as the
    terminal, it began a new line, and rich, redrawing from one line too low, left a stale first row."""

    closing = False  # the final draw, which stays on the screen: no empty line

    def get_renderable(self) -> RenderableType:
        rows = super().get_renderable()
        return rows if self.closing else Group(rows, Text(""))


class Display(Protocol):
    labelled: bool  # runs named by their labels under a heading (sinks/console.py), else by their titles

    def start(self, total: int, estimates: list[float], parallelism: int, pack_sizes: list[int] | None = None) -> None:
        """`total` planned runs; `estimates`: the seconds of each run to do, in the order they are handed
        out; `pack_sizes`: the packs they train in, in that order (None: one run each)."""

    def heading(self, text: str) -> None:
        """A line above the runs' lines: what every run shares, which their labels leave out."""

    def run_started(self, run_id: str, label: str, spec: RunSpec) -> None: ...

    def epoch_done(self, run_id: str, epoch: int, row: dict[str, float]) -> None: ...

    def run_left(self) -> None:
        """A planned run is not handed out after all: another invocation holds it or finished it."""

    def run_done(self, run_id: str, label: str, status: RunStatus, metrics: dict[str, Any]) -> None: ...

    def warn(self, message: str) -> None: ...

    def finish(self) -> None: ...


class NullDisplay:
    """--quiet: no progress; warnings still reach stderr (and the console sink says each failed run)."""

    labelled = False

    def __init__(self, terminal: Terminal) -> None:
        self.terminal = terminal

    def start(
        self, total: int, estimates: list[float], parallelism: int, pack_sizes: list[int] | None = None
    ) -> None: ...

    def heading(self, text: str) -> None: ...

    def run_started(self, run_id: str, label: str, spec: RunSpec) -> None: ...

    def epoch_done(self, run_id: str, epoch: int, row: dict[str, float]) -> None: ...

    def run_left(self) -> None: ...

    def run_done(self, run_id: str, label: str, status: RunStatus, metrics: dict[str, Any]) -> None: ...

    def warn(self, message: str) -> None:
        self.terminal.warn(message)

    def finish(self) -> None: ...


class PlainDisplay:
    """One line per run: stable, greppable output for logs and CI, each with the run's whole title."""

    labelled = False

    def __init__(self, terminal: Terminal) -> None:
        self.terminal = terminal
        self.total = 0  # runs this invocation trains
        self.done = 0
        self.clock = SweepClock([])

    def start(self, total: int, estimates: list[float], parallelism: int, pack_sizes: list[int] | None = None) -> None:
        from actbench.costs import format_seconds

        self.clock = SweepClock(estimates, parallelism, pack_sizes=pack_sizes)
        self.total = pending = len(estimates)
        self.done = 0  # a tuned experiment's second stage counts its own runs
        if not pending:
            return  # nothing to train: the summary says it all
        left = self.clock.remaining()
        estimate = f", about {format_seconds(left)} by estimate" if left else ""
        self.terminal.info(f"{pending} of {total} runs to do ({total - pending} already finished){estimate}")

    def heading(self, text: str) -> None: ...

    def run_started(self, run_id: str, label: str, spec: RunSpec) -> None: ...

    def epoch_done(self, run_id: str, epoch: int, row: dict[str, float]) -> None: ...

    def run_left(self) -> None:
        self.total -= 1
        self.clock.run_left()

    def run_done(self, run_id: str, label: str, status: RunStatus, metrics: dict[str, Any]) -> None:
        self.done += 1
        self.terminal.info(f"[{self.done}/{self.total}] {run_id} {label}: {describe_outcome(status, metrics)}")

    def warn(self, message: str) -> None:
        self.terminal.warn(message)

    def finish(self) -> None: ...


class LiveDisplay(PlainDisplay):
    """A live display: overall runs with the time left, each run in flight with its epochs, its pack's
    time left and its latest metrics, and above them one line per finished run.

    Every column but the label's has a fixed width, so a label keeps its place and its text from one
    frame to the next. Labels are short (what every run shares is said once above, see
    sinks/console.py); the bars get only the room LABEL_ROOM leaves, and a narrow terminal drops the
    elapsed column; a label longer than its room goes on onto a second line, never cut.

    rich's own refresh thread redraws while this thread prints a finished line, and rich moves the
    cursor back by the height of the display before either draws: two draws at once leave a stale bar
    or erase a finished line. Every draw here holds one lock, the ticking thread's included."""

    labelled = True
    TICK = 0.5  # seconds between redraws of the elapsed time and the time left
    LABEL_ROOM = 48  # columns kept for the labels before a bar gets any (the shipped configs' fit in 45)

    def __init__(self, terminal: Terminal) -> None:
        super().__init__(terminal)
        width = terminal.out.width
        # Narrow: the latest validation accuracy without the loss, a finished line without the run id
        # and the test loss, and the sweep's elapsed time on its row's label; a bar where there is room.
        self.narrow = width < NARROW_COLUMNS
        latest = len("val_acc 0.0000") if self.narrow else len("loss 0.0000  val_acc 0.0000")
        fixed = [
            MofNCompleteColumn(table_column=Column(min_width=len("100/100"), justify="right", no_wrap=True)),
            *([] if self.narrow else [TimeElapsedColumn()]),
            _TimeLeftColumn(lambda: self.clock),
            TextColumn("{task.fields[latest]}", table_column=Column(min_width=latest, no_wrap=True)),
        ]
        # Each column after the label's takes one more for the space before it (the bar's included).
        taken = 8 + (0 if self.narrow else 8) + 12 + latest + 1
        bar = min(40, width - taken - self.LABEL_ROOM)
        self.progress = _Progress(
            _LabelColumn(with_elapsed=self.narrow),
            *([BarColumn(bar_width=bar)] if bar >= 10 else []),
            *fixed,
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

    def heading(self, text: str) -> None:
        with self.lock:
            self.progress.console.print(Text(text))

    def run_started(self, run_id: str, label: str, spec: RunSpec) -> None:
        with self.lock:
            self.clock.run_started(run_id, spec.training.epochs, spec)
            self.run_tasks[run_id] = self.progress.add_task(
                f"  {label}", total=spec.training.epochs, latest="", run_id=run_id
            )

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

    def run_done(self, run_id: str, label: str, status: RunStatus, metrics: dict[str, Any]) -> None:
        with self.lock:
            self.done += 1
            self.clock.run_done(run_id, metrics.get("run_seconds"))
            if run_id in self.run_tasks:
                self.progress.remove_task(self.run_tasks.pop(run_id))
            self.progress.console.print(Text(self.finished_line(run_id, label, status, metrics)))
            self.progress.advance(self.sweep_task)
            self.progress.refresh()

    def finished_line(self, run_id: str, label: str, status: RunStatus, metrics: dict[str, Any]) -> str:
        """`[3/12] id label: outcome`; narrow, `[3/12] label: acc 0.9430  16.4s` (the labels tell the
        sweep's runs apart, results.csv has the rest). A failure's message is cut at a word (metrics.json
        has it whole); what else does not fit goes on onto the next line: a label is never cut."""
        prefix = f"[{self.done}/{self.total}] " + ("" if self.narrow else f"{run_id} ") + f"{label}: "
        outcome = describe_outcome(status, metrics, short=self.narrow)
        room = self.progress.console.width - len(prefix)
        if len(outcome) > room and status == RunStatus.FAILED:
            outcome = outcome[: max(room - 1, 20)].rsplit(" ", 1)[0] + "…"
        return prefix + outcome

    def warn(self, message: str) -> None:
        with self.lock:
            # The message is plain text: a `[relu, tanh]` in it is no rich markup to be swallowed.
            self.progress.console.print(Text.assemble(("warning:", "yellow"), f" {message}"))

    def finish(self) -> None:
        self.stopped.set()
        if self.ticker is not None:
            self.ticker.join()
        with self.lock:
            self.progress.closing = True
            self.progress.stop()


def describe_outcome(status: RunStatus, metrics: dict[str, Any], short: bool = False) -> str:
    if status == RunStatus.FINISHED:
        seconds = f"{metrics['train_seconds']:.1f}s"
        if metrics.get("test_accuracy") is None:  # a tuning run: chooses on validation data, never tested
            return f"best val_acc {metrics['best_val_accuracy']:.4f} (tuning, not tested)  {seconds}"
        if short:
            return f"acc {metrics['test_accuracy']:.4f}  {seconds}"
        return f"test_acc {metrics['test_accuracy']:.4f}  test_loss {metrics['test_loss']:.4f}  {seconds}"
    if status == RunStatus.DIVERGED:
        return f"DIVERGED (loss not finite after {metrics.get('epochs_run', 0)} epochs)"
    return f"FAILED: {metrics.get('error', 'unknown error')}"


def sweep_display(terminal: Terminal) -> Display:
    """Live on an interactive terminal, plain lines when piped or in CI, nothing with --quiet."""
    if terminal.quiet:
        return NullDisplay(terminal)
    return LiveDisplay(terminal) if terminal.interactive else PlainDisplay(terminal)
