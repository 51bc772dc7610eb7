"""What every command shares: an error line with its exit code, SIGTERM handled as Ctrl-C is, and --help without `<bool>` on flags."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

from actbench.terminal import Terminal


def fail(message: str, code: int = 2, terminal: Terminal | None = None) -> typer.Exit:
    """Print `error: message` to stderr and return the Exit to raise (2: the user's input or environment)."""
    (terminal or Terminal()).error(message)
    return typer.Exit(code=code)


class Terminated(KeyboardInterrupt):
    """SIGTERM (what `timeout`, `kill` and batch schedulers send): a KeyboardInterrupt, so that every
    path Ctrl-C takes (finished runs kept, claims released, the export) is the one it takes too."""


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Within: SIGTERM raises Terminated in the main thread, as Ctrl-C raises KeyboardInterrupt."""

    def interrupt(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends a clean-up that hangs
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def interrupted_code(exc: KeyboardInterrupt) -> int:
    """128 + the signal's number, as a shell reports a process the signal killed: 143 SIGTERM, 130 Ctrl-C."""
    return 128 + (signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT)


def _without_flag_types(params: list[Any]) -> list[Any]:
    # An on/off flag takes no value. Typer prints an option's metavar in the type column when one
    # is set, and an empty one prints nothing.
    for param in params:
        if getattr(param, "is_flag", False) and getattr(param, "metavar", None) is None:
            param.metavar = ""
    return params


class FlagCommand(TyperCommand):
    def get_params(self, ctx: Any) -> list[Any]:
        return _without_flag_types(super().get_params(ctx))


class FlagGroup(TyperGroup):
    def get_params(self, ctx: Any) -> list[Any]:
        return _without_flag_types(super().get_params(ctx))
