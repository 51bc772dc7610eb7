"""Loading a config: YAML (a key repeated in one mapping is an error), the command line's overrides,
validation, and every problem described in one line naming the file or override, the field and the fix."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from actbench import dataset_catalogue as builtin_datasets
from actbench.config.experiment import ExperimentConfig
from actbench.config.overrides import Override, apply_override
from actbench.config.schema import LOC_TAGS, CNNSpec, CustomDataset, MLPSpec
from actbench.errors import ActbenchError

# How errors name a config given as a mapping (from a program or notebook) rather than a file.
MAPPING_ORIGIN = "config"


def load_config(source: Path | dict[str, Any], overrides: Sequence[Override] = ()) -> ExperimentConfig:
    """Read (a YAML file, or a mapping as the YAML would give), override and validate a config; every
    problem becomes one ActbenchError naming the file (or 'config' for a mapping), the field and the fix."""
    path: Path | str
    if isinstance(source, dict):
        raw, path = copy.deepcopy(source), MAPPING_ORIGIN  # overrides must not change the caller's mapping
    else:  # the YAML file's path names it in every error
        raw, path = _read_yaml(Path(source)), Path(source)
    for override in overrides:
        apply_override(raw, override)
    try:
        return ExperimentConfig.model_validate(raw, context={"class_bound": _class_bound(raw)})
    except ValidationError as exc:
        errors = _misspellings_only(exc.errors())
        raise ActbenchError("\n".join(_describe(error, _origin(error, path, overrides)) for error in errors)) from None


def _misspellings_only(errors: list[ErrorDetails]) -> list[ErrorDetails]:
    """Without the `missing` errors of fields an unknown field beside them misspells: `hiden_activations`
    is one mistake ("did you mean 'hidden_activations'?"), not two."""
    misspelt = set()
    for error in errors:
        if error["type"] == "extra_forbidden":
            close = _closest(str(error["loc"][-1]), _fields_at(error["loc"][:-1]))
            misspelt.add((*error["loc"][:-1], close))
    return [error for error in errors if not (error["type"] == "missing" and tuple(error["loc"]) in misspelt)]


def _class_bound(raw: dict[str, Any]) -> int | None:
    """The class count task.positive is checked against now: the fewest classes among the grid's
    built-in datasets; none when the grid holds only datasets of your own (their classes are known
    once they are read, and plan.own_data checks them then)."""
    listed = raw.get("datasets")
    entries = listed if isinstance(listed, list) else []
    builtin = [entry for entry in entries if isinstance(entry, str)]
    if not builtin and any(isinstance(entry, dict) for entry in entries):
        return None
    return builtin_datasets.fewest_classes(builtin)


def _origin(error: ErrorDetails, path: Path | str, overrides: Sequence[Override]) -> str:
    """Where a bad value came from: the last override that wrote it, a section around it or another setting
    that caused it (the error's `also`, e.g. the batch size behind a memory limit), else the file."""
    fields = [part for part in error["loc"] if isinstance(part, str) and part not in LOC_TAGS]
    causes = [fields, *(dotted.split(".") for dotted in error.get("ctx", {}).get("also", ()))]
    for override in reversed(overrides):
        if any(override.covers(cause, unknown_field=error["type"] == "extra_forbidden") for cause in causes):
            return override.origin
    return str(path)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ActbenchError(f"{path}: no such config file; check the path (configs/ has examples)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ActbenchError(f"{path}: cannot read the config: {exc}") from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        raise ActbenchError(f"{path}{where}: YAML syntax error: {exc.problem}; fix the YAML there") from None
    except yaml.YAMLError as exc:
        raise ActbenchError(f"{path}: YAML syntax error: {exc}") from None
    if not isinstance(data, dict):
        raise ActbenchError(
            f"{path}: a config is a YAML mapping with at least 'name', 'datasets', 'hidden_activations'"
        )
    return data


class _UniqueKeyLoader(yaml.SafeLoader):
    """yaml.safe_load, except that a key repeated in one mapping is an error instead of "last one wins"."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"the key '{key}' appears twice in one mapping (first on line {seen[key]}); keep one",
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def _describe(error: ErrorDetails, path: Path | str) -> str:
    """One line: file (or the --set that caused it), field path, what is wrong, and how to fix it."""
    loc = [part for part in error["loc"] if part not in LOC_TAGS]
    where = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in loc).replace(".[", "[") or "(top level)"
    kind = error["type"]
    if kind == "extra_forbidden":
        allowed = _fields_at(error["loc"][:-1])
        close = _closest(str(loc[-1]), allowed)
        hint = f"did you mean '{close}'?" if close else f"allowed here: {', '.join(allowed)}"
        return f"{path}: {where}: unknown field; {hint}"
    if kind == "missing":
        return f"{path}: {where}: required field is missing; add it"
    reworded = _reworded(error)
    if reworded:
        return f"{path}: {where}: {reworded}"
    message = error["msg"].removeprefix("Value error, ")
    message = message.replace("Input should be", "must be")
    value = error.get("input")
    shown = f" (got {value!r})" if kind != "value_error" and not isinstance(value, (dict, list)) else ""
    return f"{path}: {where}: {message}{shown}"


def _reworded(error: ErrorDetails) -> str | None:
    """pydantic's own words where they name no fix ("List should have at least 1 item after validation"),
    as what to write instead; None for the others."""
    kind, ctx, value = error["type"], error.get("ctx", {}), error.get("input")
    if kind == "too_short" and isinstance(value, (list, dict)):
        least = ctx.get("min_length", 1)
        return f"must list at least {least} {'entry' if least == 1 else 'entries'} (got an empty list); add {'one' if least == 1 else least}"
    if kind == "too_long":
        return f"must be at most {ctx.get('max_length')} long (got {ctx.get('actual_length')}); shorten it"
    if kind == "string_pattern_mismatch":
        return (
            f"{value!r} is not a usable name: start with a letter or digit, then only letters, digits, '_', '.' or '-'"
        )
    if kind == "union_tag_invalid":
        expected = " or ".join(str(ctx.get("expected_tags", "")).split(", "))
        return f"{str(ctx.get('discriminator', 'type')).strip(chr(39))} must be {expected} (got {ctx.get('tag')!r})"
    if kind in ("float_parsing", "int_parsing", "int_from_float"):
        whole = "a whole number" if kind != "float_parsing" else "a number"
        return f"must be {whole} (got {value!r})"
    return None


def _closest(word: str, choices: list[str]) -> str | None:
    import difflib

    found = difflib.get_close_matches(word, choices, n=1, cutoff=0.5)
    return found[0] if found else None


def _fields_at(loc: tuple[Any, ...]) -> list[str]:
    """Field names of the model found by following `loc` from the top of the schema."""
    model: Any = ExperimentConfig
    for part in loc:
        if isinstance(part, int):
            continue
        if part in LOC_TAGS:
            model = {"mlp": MLPSpec, "cnn": CNNSpec, "own": CustomDataset}.get(part, model)
            continue
        annotation = model.model_fields[part].annotation
        model = _inner_model(annotation)
    return list(model.model_fields)


def _inner_model(annotation: Any) -> Any:
    from typing import get_args

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None
