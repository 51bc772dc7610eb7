"""An activation's printed label, `leaky_relu(alpha=0.1)`, reading such a label back, and the pair
`relu -> softmax` (hidden activation, output layer) that names every run and group."""

from __future__ import annotations

from typing import Any

ARROW = " -> "  # between the hidden activation and the output layer, wherever a run or group is named


def pair_label(*parts: str) -> str:
    """'relu -> softmax': the hidden activation, then the output layer; where only one of them is
    named (a report label naming what varies), it stands alone."""
    return ARROW.join(parts)


def label(name: str, params: dict[str, Any]) -> str:
    """The canonical printed form, e.g. `relu` or `leaky_relu(alpha=0.1)`; used in results."""
    if not params:
        return name
    args = ", ".join(f"{k}={_format_value(v)}" for k, v in sorted(params.items()))
    return f"{name}({args})"


def parse_label(text: str) -> tuple[str, dict[str, Any]]:
    """The inverse of `label`, so printed labels work as input: 'leaky_relu(alpha=0.2)' -> ('leaky_relu', {'alpha': 0.2})."""
    name, bracket, inside = text.strip().partition("(")
    if not bracket:
        return name, {}
    if not inside.endswith(")") or not name.strip():
        raise ValueError(f"{text!r}: write an activation with parameters as name(key=value), e.g. leaky_relu(alpha=0.2)")
    params: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in inside[:-1].split(","))):
        key, equals, value = item.partition("=")
        if not equals or not key.strip():
            raise ValueError(f"{text!r}: parameter {item!r} needs a value, e.g. leaky_relu(alpha=0.2)")
        params[key.strip()] = _parse_value(value.strip())
    return name.strip(), params


def _parse_value(text: str) -> Any:
    """Parameter values as `label` prints them: true/false, numbers; anything else stays text."""
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    try:
        return float(text)
    except ValueError:
        return text


def _format_value(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return repr(value)
    return str(value)
