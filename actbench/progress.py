"""How a sweep shows its progress: a rich display on a terminal, one plain line per run otherwise, or nothing.

The runner calls the same five methods on whichever reporter the CLI picked.
"""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


class QuietReporter:
    """Prints nothing but warnings (to stderr)."""

    def __init__(self) -> None:
        self.err = Console(stderr=True, highlight=False, soft_wrap=True)

    def start(self, total: int, pending: int) -> None: ...

    def run_started(self, index: int, run_id: str, title: str, epochs: int) -> None: ...

    def epoch_done(self, epoch: int, row: dict[str, float]) -> None: ...

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

    def start(self, total: int, pending: int) -> None:
        self.total = pending
        self.out.print(f"{pending} of {total} runs to do ({total - pending} already finished)", markup=False)

    def run_done(self, index: int, run_id: str, title: str, status: str, metrics: dict[str, Any]) -> None:
        self.out.print(f"[{index}/{self.total}] {run_id} {title}: {describe_outcome(status, metrics)}", markup=False)


class RichReporter(PlainReporter):
    """A live display: overall runs with ETA, the current run's epochs and its latest metrics."""

    def __init__(self) -> None:
        super().__init__()
        self.out = Console(highlight=False)
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[latest]}"),
            console=self.out,
        )
        self.sweep_task: Any = None
        self.run_task: Any = None

    def start(self, total: int, pending: int) -> None:
        super().start(total, pending)
        self.progress.start()
        self.sweep_task = self.progress.add_task("runs", total=pending, latest="")

    def run_started(self, index: int, run_id: str, title: str, epochs: int) -> None:
        if self.run_task is not None:
            self.progress.remove_task(self.run_task)
        self.run_task = self.progress.add_task(f"  {title}", total=epochs, latest="")

    def epoch_done(self, epoch: int, row: dict[str, float]) -> None:
        latest = f"loss {row.get('loss', float('nan')):.4f}  val_acc {row.get('val_accuracy', float('nan')):.4f}"
        self.progress.update(self.run_task, completed=epoch, latest=latest)

    def run_done(self, index: int, run_id: str, title: str, status: str, metrics: dict[str, Any]) -> None:
        self.progress.console.print(f"[{index}/{self.total}] {run_id} {title}: {describe_outcome(status, metrics)}", markup=False)
        self.progress.advance(self.sweep_task)

    def finish(self) -> None:
        self.progress.stop()

    def warn(self, message: str) -> None:
        self.progress.console.print(f"[yellow]warning:[/] {message}")


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
    if sys.stdout.isatty() and Console().is_terminal and not Console().is_dumb_terminal:
        return RichReporter()
    return PlainReporter()
