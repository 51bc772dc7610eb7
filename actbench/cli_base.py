"""What every command shares: its errors and interruptions as one line with an exit code, SIGTERM handled
as Ctrl-C is, and --help without `<bool>` on flags."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

from actbench.errors import ActbenchError
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


@contextmanager
def command_outcome(after_interrupt: str, terminal: Terminal | None = None) -> Iterator[None]:
    """Within, a command's work: SIGTERM raises as Ctrl-C does; an ActbenchError ends it with its line and
    exit 2; Ctrl-C or SIGTERM with `interrupted; <after_interrupt>` (what is kept, how to go on) and 130
    or 143. Any other exception is a bug and keeps its traceback."""
    try:
        with terminate_as_interrupt():
            yield
    except ActbenchError as exc:
        raise fail(str(exc), terminal=terminal) from None
    except KeyboardInterrupt as exc:
        code = interrupted_code(exc)
        what = "terminated" if code == 143 else "interrupted"
        raise fail(f"{what}; {after_interrupt}", code, terminal) from None


def _without_flag_types(params: list[Any]) -> list[Any]:
    # An on/off flag takes no value. Typer prints an option's metavar in the type column when one
    # is set, and an empty one prints nothing.
    for param in params:
        if getattr(param, "is_flag", False) and getattr(param, "metavar", None) is None:
            param.metavar = ""
    return params


def _with_usage_errors_in_one_line(main: Any, *args: Any, **kwargs: Any) -> Any:
    """Click's own usage errors (an unknown option, `--epochs abc`, `--format pdf`) as every other error
    of actbench: `error: <what>; see `<command> --help``, exit 2, instead of a usage block and a panel."""
    if kwargs.get("standalone_mode", True) is False:
        return main(*args, **kwargs)
    try:
        code = main(*args, **{**kwargs, "standalone_mode": False})
    except typer.TyperException as exc:  # Typer's own copy of click raises these (Typer 0.26 on)
        message = exc.format_message().replace("Value error, ", "").rstrip(".")
        if message:  # none where the help was shown instead (a command given no arguments)
            context = getattr(exc, "ctx", None)
            see = f"; see `{context.command_path} --help`" if context is not None else ""
            Terminal().error(f"{message}{see}")
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


class FlagCommand(TyperCommand):
    def get_params(self, ctx: Any) -> list[Any]:
        return _without_flag_types(super().get_params(ctx))

    def main(self, *args: Any, **kwargs: Any) -> Any:
        return _with_usage_errors_in_one_line(super().main, *args, **kwargs)


class FlagGroup(TyperGroup):
    def get_params(self, ctx: Any) -> list[Any]:
        return _without_flag_types(super().get_params(ctx))

    def main(self, *args: Any, **kwargs: Any) -> Any:
        return _with_usage_errors_in_one_line(super().main, *args, **kwargs)
