"""The program's one terminal: every line actbench prints goes through a Terminal (after hatch's).

It owns stdout and stderr, the verbosity (--quiet: no progress and no notes, but warnings, errors and
failed runs still), rich's markup (never applied to text: run titles, errors and paths are printed
as they are) and the tables. Library modules return values; the command layer prints them here.
Piped or in CI the output is plain: no colour, no live display, and no line ends in padding spaces.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, Any, cast

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

PIPED_WIDTH = 200  # a table piped to a file keeps one line per row up to this width


class _ReaderMayLeave:
    """A piped stream whose reader may close it early (`actbench report | head`): from then on nothing
    more is written there and the command goes on (a report's files are still written), instead of
    click's silent exit 1 on the broken pipe. As Python's docs advise, the descriptor then points at
    /dev/null, so no later write, nor the final flush, raises again."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        try:
            self.stream.write(text)
        except BrokenPipeError:
            self._reader_gone()
        return len(text)

    def flush(self) -> None:
        try:
            self.stream.flush()
        except BrokenPipeError:
            self._reader_gone()

    def _reader_gone(self) -> None:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self.stream.fileno())
        os.close(devnull)

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self.stream.fileno()


class _Unpadded:
    """A text stream that drops the spaces rich pads lines with (table cells, full-width rows): a
    piped report or log keeps no trailing spaces."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        self.stream.write("\n".join(line.rstrip(" ") for line in text.split("\n")))
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self.stream.fileno()


def interactive(stream: IO[str] | None = None) -> bool:
    """A person at a terminal: not piped, not a dumb terminal, not CI (whose logs want plain lines)."""
    stream = stream or sys.stdout
    return stream.isatty() and os.environ.get("TERM") != "dumb" and not os.environ.get("CI")


class Terminal:
    def __init__(self, quiet: bool = False, stdout: IO[str] | None = None, stderr: IO[str] | None = None) -> None:
        self.quiet = quiet
        out, err = stdout or sys.stdout, stderr or sys.stderr
        self.interactive = interactive(out)
        err_live = interactive(err)
        out = out if self.interactive else cast(IO[str], _ReaderMayLeave(out))
        err = err if err_live else cast(IO[str], _ReaderMayLeave(err))
        self.stdout = out
        # Piped, a line of text is never wrapped and a table gets PIPED_WIDTH columns.
        self.out = self._console(out, self.interactive, None if self.interactive else PIPED_WIDTH, not self.interactive)
        self.err = self._console(err, err_live, None if err_live else PIPED_WIDTH, not err_live)

    @staticmethod
    def _console(stream: IO[str], live: bool, width: int | None, soft_wrap: bool) -> Console:
        # Markup and emoji codes off: `[bold]` or `:smile:` in a title, an error or a path is text.
        if live:
            return Console(file=stream, width=width, soft_wrap=soft_wrap, highlight=False, markup=False, emoji=False)
        return Console(
            file=cast(IO[str], _Unpadded(stream)),
            width=width,
            soft_wrap=soft_wrap,
            highlight=False,
            markup=False,
            emoji=False,
            no_color=True,
            force_terminal=False,
        )

    def stdout_console(self, width: int | None, soft_wrap: bool = False) -> Console:
        """A console on stdout at `width` (None: the terminal's) for a command's tables."""
        return self._console(self.stdout, self.interactive, width, soft_wrap)

    def document(self, text: str) -> None:
        """A machine-readable document (CSV, JSON, markdown) on stdout, exactly as given."""
        self.stdout.write(text)
        self.stdout.flush()

    def info(self, text: str) -> None:
        """What a command tells its user: a summary, a plan line. Hidden by --quiet."""
        if not self.quiet:
            self.out.print(text)

    def output(self, text: str) -> None:
        """A command's result itself (a version, a document): printed whatever the verbosity."""
        self.out.print(text)

    def remark(self, text: str) -> None:
        """What a command tells its user, on stderr because stdout carries a document. Hidden by --quiet."""
        if not self.quiet:
            self.err.print(text)

    def note(self, text: str) -> None:
        """A remark on stderr, so stdout stays the command's result. Hidden by --quiet."""
        if not self.quiet:
            self.err.print(f"note: {text}")

    def warn(self, text: str) -> None:
        self.err.print(Text.assemble(("warning:", "yellow"), f" {text}"))

    def error(self, text: str) -> None:
        self.err.print(Text.assemble(("error:", "red"), f" {text}"))

    def failure(self, text: str) -> None:
        """A line about something that failed (a run): on stderr, also under --quiet."""
        self.err.print(text)

    def table(self, table: Any) -> None:
        """A rich Table (or any renderable): wrapped to the terminal's width, one line per row when piped."""
        self.out.print(table, soft_wrap=False)

    @contextmanager
    def bar(self, description: str) -> Iterator[Callable[[int, int], None]]:
        """A transient bar (an export) on an interactive terminal: `update(done, total)`; a no-op when
        piped, in CI or with --quiet."""
        if self.quiet or not self.interactive:
            yield lambda done, total: None
            return
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=self.out, transient=True) as bar:
            task = bar.add_task(description, total=None)
            yield lambda done, total: bar.update(task, completed=done, total=total)
