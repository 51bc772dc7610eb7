"""What every command shares: an error line with its exit code, and --help without `<bool>` on flags."""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

from actbench.terminal import Terminal


def fail(message: str, code: int = 2, terminal: Terminal | None = None) -> typer.Exit:
    """Print `error: message` to stderr and return the Exit to raise (2: the user's input or environment)."""
    (terminal or Terminal()).error(message)
    return typer.Exit(code=code)


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
