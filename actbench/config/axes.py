"""Settings as axes of the grid: where a config gives a list for a setting that takes one value
(`training: {learning_rate: [0.0003, 0.001, 0.003]}`, `models: [{type: mlp, dropout: [0, 0.3]}]`,
`data: {preprocessing: [scale, standardize]}`), each value makes runs of its own, as the lists of
datasets, models and activations do.

`split_axes` takes the lists out of a config's raw data before it is validated (leaving the first
value, so each section validates as it always did), `variants` validates every combination of a
section's values, each error placed at the field and value that caused it.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import ValidationError
from pydantic_core import InitErrorDetails

# The settings a list makes an axis of, by section; each takes a single value otherwise.
TRAINING_AXES = ("learning_rate", "momentum", "weight_decay", "l2", "schedule", "batch_size", "epochs")
MODEL_AXES = ("dropout", "dropout_kind", "batch_norm", "initializer")
DATA_AXES = ("preprocessing",)


def split_axes(raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """`raw` with each axis' list cut to its first value and each model entry with lists expanded into
    one entry per combination, and the axes found (a dotted name -> its values; a model's per entry:
    'models[0].dropout')."""
    data, axes = dict(raw), {}
    for section, names in (("training", TRAINING_AXES), ("data", DATA_AXES)):
        given = data.get(section)
        if isinstance(given, dict):
            lists = {name: given[name] for name in names if isinstance(given.get(name), list)}
            axes.update({f"{section}.{name}": values for name, values in lists.items()})
            data[section] = {**given, **{name: values[0] if values else values for name, values in lists.items()}}
    models = data.get("models")
    if isinstance(models, list):
        expanded = []
        for index, entry in enumerate(models):
            lists = {n: entry[n] for n in MODEL_AXES if isinstance(entry, dict) and isinstance(entry.get(n), list)}
            axes.update({f"models[{index}].{name}": values for name, values in lists.items()})
            expanded += [{**entry, **combination} for combination in combinations(lists)] if lists else [entry]
        data["models"] = expanded
    return data, axes


def refuse_empty(found: dict[str, list[Any]]) -> None:
    """An empty list gives no value at all: an error at its field ('models[0].dropout' at models, 0, dropout)."""
    for name, values in found.items():
        if not values:
            where = [int(part) if part.isdigit() else part for part in re.split(r"[.\[\]]+", name) if part]
            _raise(where[:-1], where[-1], "too_short", [], {"field_type": "List", "min_length": 1, "actual_length": 0})


def combinations(lists: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination of the lists' values, the first list's varying slowest."""
    return [dict(zip(lists, values)) for values in itertools.product(*lists.values())]


def model_entry_axes(axes: dict[str, list[Any]], index: int) -> dict[str, list[Any]]:
    """The axes of model entry `index` (as given, before expansion)."""
    prefix = f"models[{index}]."
    return {name.removeprefix(prefix): values for name, values in axes.items() if name.startswith(prefix)}


def variants(
    validate: Callable[[dict[str, Any]], Any], base: dict[str, Any], lists: dict[str, list[Any]], where: Sequence[Any]
) -> list[Any]:
    """`base` with each combination of `lists`' values, each validated; an error is raised at `where`
    + the field, saying which values of the axes it came with. An empty list is an error of its own."""
    validated = []
    for combination in combinations(lists) or [{}]:
        try:
            validated.append(validate({**base, **combination}))
        except ValidationError as exc:
            raise _relocated(exc, where, combination, len(lists) > 1) from None
    return validated


def _raise(where: Sequence[Any], name: str | int, kind: str, value: Any, ctx: dict[str, Any]) -> None:
    detail = InitErrorDetails(type=kind, loc=(*where, name), input=value, ctx=ctx)
    raise ValidationError.from_exception_data("ExperimentConfig", [detail])


def _relocated(
    exc: ValidationError, where: Sequence[Any], combination: dict[str, Any], several: bool
) -> ValidationError:
    """The errors of one combination's section at their place in the config; where several axes vary,
    the message says which of their values the failing combination had."""
    details = []
    for error in exc.errors():
        ctx = dict(error.get("ctx", {}))
        if several and error["type"] == "value_error":
            together = ", ".join(f"{name}={value}" for name, value in combination.items())
            ctx["error"] = ValueError(f"{ctx.get('error', error['msg'])} (with {together})")
        details.append(
            InitErrorDetails(type=error["type"], loc=(*where, *error["loc"]), input=error.get("input"), ctx=ctx)
        )
    return ValidationError.from_exception_data("ExperimentConfig", details)


# How a run's spec holds each axis (RunSpec's fields, dotted): preprocessing is a field of its own.
SPEC_FIELDS = {
    **{f"training.{name}": f"training.{name}" for name in TRAINING_AXES},
    **{f"model.{name}": f"model.{name}" for name in MODEL_AXES},
    "data.preprocessing": "preprocessing",
}
SHORT_NAMES = {"lr": "training.learning_rate"}  # as labels write it


def spec_field(name: str, found: dict[str, list[Any]]) -> str | None:
    """The spec field of the axis `name` names ('learning_rate', 'lr', 'training.learning_rate', 'dropout',
    'model.dropout', 'preprocessing'), if the config gives it as a list of at least two values; else None."""
    for dotted in (SHORT_NAMES.get(name, name), *(f"{s}.{name}" for s in ("training", "model", "data"))):
        if dotted not in SPEC_FIELDS:
            continue
        section, _, field = dotted.partition(".")
        lists = [v for key, v in found.items() if key == dotted or (section == "model" and key.endswith(f"].{field}"))]
        if any(len(values) > 1 for values in lists):
            return SPEC_FIELDS[dotted]
    return None


def axis_names(found: dict[str, list[Any]]) -> list[str]:
    """The config's axes of two values or more, as a `tune:` section names them."""
    names = {re.sub(r"^models\[\d+\]", "model", key) for key, values in found.items() if len(values) > 1}
    return sorted(names)
