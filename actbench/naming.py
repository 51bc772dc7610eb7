"""How runs and groups are named wherever they are shown: an activation's label `leaky_relu(alpha=0.1)`
(and reading one back), an output layer's `sigmoid (1 unit)`, the pair `relu -> softmax`, a run's
title, and its label in a sweep's display (the title less what every run of the sweep shares).

Plain Python with no actbench imports, so config, training, the report and the exports all name
things the same way without importing each other.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Protocol

ARROW = " -> "  # between the hidden activation and the output layer, wherever a run or group is named


class Titled(Protocol):
    """What a run's title is made of: a config.RunSpec has it all (read, never imported here)."""

    @property
    def dataset(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def task(self) -> Any: ...  # its .type and .label
    @property
    def model(self) -> Any: ...  # its .type
    @property
    def hidden_activation(self) -> Any: ...  # its .label
    @property
    def output_activation(self) -> str: ...
    @property
    def output_units(self) -> int: ...
    @property
    def seed(self) -> int: ...


def pair_label(*parts: str) -> str:
    """'relu -> softmax': the hidden activation, then the output layer; where only one of them is
    named (a report label naming what varies), it stands alone."""
    return ARROW.join(parts)


def output_label(name: str, units: int, binary: bool) -> str:
    """For a binary task the width tells output layers apart: 'sigmoid (1 unit)', 'softmax (2 units)'."""
    return f"{name} ({units} unit{'s' if units > 1 else ''})" if binary else name


def run_title(s: Titled) -> str:
    """`fashion_mnist/full mlp relu -> softmax seed=0`: every part of `title_parts`."""
    return run_label(s, leave_out=())


def title_parts(s: Titled) -> dict[str, str]:
    """A run title's parts in its order (data, model, hidden, output, seed): what a sweep's display
    leaves out where every run shares it."""
    binary = s.task.type == "binary"
    return {
        "data": f"{s.dataset}/{s.source}" + (f" {s.task.label}" if binary else ""),
        "model": s.model.type,
        "hidden": s.hidden_activation.label,
        "output": output_label(s.output_activation, s.output_units, binary),
        "seed": f"seed={s.seed}",
    }


def run_label(s: Titled, leave_out: Collection[str]) -> str:
    """The run's title less the parts `leave_out` names (those every run of a sweep shares):
    `mlp relu seed=0` where all have softmax outputs on mnist/sample, `-> sigmoid seed=0` where all
    have the same hidden activation."""
    parts = {name: text for name, text in title_parts(s).items() if name not in leave_out}
    if "hidden" in parts and "output" in parts:
        parts["hidden"] = pair_label(parts["hidden"], parts.pop("output"))
    elif "output" in parts:  # the arrow says it is the output layer
        parts["output"] = f"{ARROW.lstrip()}{parts['output']}"
    return " ".join(parts.values())


def shared_label(s: Titled, parts: Collection[str]) -> str:
    """What `run_label` left out, said once: `mnist/sample, output softmax`."""
    shown = title_parts(s)
    texts = [shown[name] for name in ("data", "model") if name in parts]
    if "hidden" in parts and "output" in parts:
        texts.append(pair_label(shown["hidden"], shown["output"]))
    else:
        texts += [f"{name} {shown[name]}" for name in ("hidden", "output") if name in parts]
    return ", ".join(texts + ([shown["seed"]] if "seed" in parts else []))


def activation_label(name: str, params: dict[str, Any]) -> str:
    """The canonical printed form, e.g. `relu` or `leaky_relu(alpha=0.1)`; used in results."""
    if not params:
        return name
    args = ", ".join(f"{k}={_format_value(v)}" for k, v in sorted(params.items()))
    return f"{name}({args})"


def parse_label(text: str) -> tuple[str, dict[str, Any]]:
    """The inverse of `activation_label`, so printed labels work as input: 'leaky_relu(alpha=0.2)' -> ('leaky_relu', {'alpha': 0.2})."""
    name, bracket, inside = text.strip().partition("(")
    if not bracket:
        return name, {}
    if not inside.endswith(")") or not name.strip():
        raise ValueError(
            f"{text!r}: write an activation with parameters as name(key=value), e.g. leaky_relu(alpha=0.2)"
        )
    params: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in inside[:-1].split(","))):
        key, equals, value = item.partition("=")
        if not equals or not key.strip():
            raise ValueError(f"{text!r}: parameter {item!r} needs a value, e.g. leaky_relu(alpha=0.2)")
        params[key.strip()] = _parse_value(value.strip())
    return name.strip(), params


def _parse_value(text: str) -> Any:
    """Parameter values as `activation_label` prints them: true/false, numbers; anything else stays text."""
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
