"""Config values set on the command line, typed once at the edge: `--set training.epochs=1` is read
as YAML there, `--epochs 1` arrives as the int Typer parsed. Each keeps how the user wrote it, so an
error it causes names the option, not the file."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from actbench.errors import ActbenchError


@dataclass(frozen=True)
class Override:
    path: tuple[str, ...]  # ("training", "epochs")
    value: Any
    origin: str  # as the user wrote it: "--set 'training.epochs=1'", "--epochs 1"

    @classmethod
    def of(cls, dotted: str, value: Any, origin: str | None = None) -> Override:
        """A typed value for a dotted path, e.g. from a CLI option (`--epochs 3`) or a test."""
        return cls(tuple(dotted.split(".")), value, origin or f"{dotted}={value}")

    def covers(self, fields: list[str], unknown_field: bool = False) -> bool:
        """True when it set the value at `fields` or a section around it, or, for an unknown field,
        when it created that field on its way (`training.foo.bar=1` makes `training.foo`)."""
        path = list(self.path)
        return path == fields[: len(path)] or (unknown_field and bool(fields) and fields == path[: len(fields)])


def parse_set(text: str) -> Override:
    """`--set training.epochs=1`: a dotted path and a value read as a YAML scalar (text if it is no valid YAML)."""
    key, sep, value_text = text.partition("=")
    if not sep or not key.strip():
        raise ActbenchError(f"--set {text!r}: write it as dotted.path=value, e.g. --set training.epochs=1")
    if "[" in key:
        raise ActbenchError(
            f"--set {text!r}: list items cannot be set one by one; set the whole list, e.g. --set 'hidden_activations=[relu, tanh]'"
        )
    try:
        value = yaml.safe_load(value_text) if value_text.strip() else None
    except yaml.YAMLError:
        value = value_text
    return Override(tuple(key.strip().split(".")), value, f"--set {text!r}")


def option_overrides(options: dict[str, tuple[str, Any]]) -> list[Override]:
    """Typed CLI shortcuts, e.g. {"--epochs": ("training.epochs", 3)}; an option not given (None, or a flag left off) is skipped."""
    return [
        Override.of(dotted, value, flag if value is True else f"{flag} {value}")
        for flag, (dotted, value) in options.items()
        if value is not None and value is not False
    ]


def apply_override(raw: dict[str, Any], override: Override) -> None:
    """Set raw['training']['epochs'] for ('training', 'epochs'), making missing sections on the way."""
    *sections, last = override.path
    node = raw
    for part in sections:
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise ActbenchError(f"{override.origin}: '{part}' is not a section, so it has no '{last}'")
        node = child
    node[last] = override.value
