"""A config's `reference:` block: the published result it reproduces, validated like every other section.

It names no setting of a run, so it is not in RunSpec and never changes a run id; it is kept in the results
folder's config.yaml, where `actbench report` reads it to put published beside measured
(actbench/reference.py compares them). Each published value names its group as `--filter` names runs:
results.csv's setting columns (settings_catalogue.filter_keys) and their values.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from actbench.config.schema import Strict
from actbench.settings_catalogue import filter_keys

# The metrics a published value may be: shares in [0, 1], so their intervals stay in it.
SHARE_METRICS = ("test_accuracy", "keras_accuracy", "macro_f1", "min_class_recall", "best_val_accuracy")


class Citation(Strict):
    authors: str = Field(min_length=1)
    title: str = Field(min_length=1)
    year: int = Field(ge=1900, le=2100)
    url: str = Field(min_length=1)  # the arXiv abstract, or the file of the repository the number comes from


class PublishedValue(Strict):
    """One published number and the group of the grid it belongs to."""

    match: dict[str, Any] = Field(min_length=1)  # {hidden_activation: relu, model.hidden_units: [100]}
    value: float
    spread: float | None = Field(default=None, ge=0)  # as the source gives it (say which kind in `source`)
    source: str = Field(min_length=1)  # where exactly: file, table, row, cell output

    @field_validator("match")
    @classmethod
    def _filter_keys(cls, value: dict[str, Any]) -> dict[str, Any]:
        keys = filter_keys()
        for key in value:
            if key not in keys:
                raise ValueError(f"'{key}' is not a setting column; use one of {', '.join(keys)} (as --filter does)")
        return value


class Reference(Strict):
    citation: Citation
    table: str = Field(min_length=1)  # "Table 3", "the notebook's last cell"
    metric: str = "test_accuracy"
    published: list[PublishedValue] = Field(min_length=1)
    notes: str = Field(min_length=1)  # what the config cannot match, in words

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, value: str) -> str:
        if value not in SHARE_METRICS:
            raise ValueError(f"'{value}' cannot be compared; use one of {', '.join(SHARE_METRICS)}")
        return value


def match_text(value: Any) -> str:
    """A match value as `--filter` compares it with results.csv's cells: a list as that column's JSON
    ('[100,10]'), anything else as its text ('relu', '0.001', 'True')."""
    import json

    if isinstance(value, (list, dict)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)
