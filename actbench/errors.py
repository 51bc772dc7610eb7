"""The one exception type whose message a user can act on; the CLI turns it into exit code 2."""

from typing import Any


class ActbenchError(Exception):
    """A problem with the user's input or environment, explained in one line with the fix."""


class ActbenchWarning(UserWarning):
    """What the CLI prints as a note (a run folder left out, data from the sample), for a program."""


def named(where: str, value: Any) -> str:
    """How an error names a value by where it came from: an option as typed (`--pack '0'`), a
    program's parameter as written (`pack=0`)."""
    return f"{where} {value!r}" if where.startswith("-") else f"{where}={value!r}"
