"""Names for what is shown: which settings vary, the label of each block and group, the shared header.

A label names every setting that varies within what is shown and nothing else: two sweeps of
the same config with different epochs become `mnist / mlp 128-64 / epochs=1` and `... / epochs=5`,
while a setting the same everywhere moves to one header line. Labels are built from the
structured columns of results.csv, never parsed back.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

import pandas as pd

from actbench.naming import output_label, pair_label
from actbench.settings_catalogue import SETTINGS, activation_settings, block_settings, group_settings, header_settings

# The activations themselves, named by value ('relu -> softmax'), and the settings that vary with them
# (initializer: auto, the output width, a custom function's source), named as 'short=value': part of
# what a block compares, not of the block (otherwise every activation would sit alone in its own block).
ACTIVATION_KEYS = [c for c in activation_settings() if SETTINGS[c].plain]
FOLLOWS_ACTIVATION = [c for c in activation_settings() if not SETTINGS[c].plain]


class Follower(NamedTuple):
    """A setting the network takes from one of its activations by a rule, which no label names."""

    activation: str  # the activation column it follows
    rule: str  # how it follows, as the config says it
    alone: str  # how to compare the activations without it


# Of the settings that follow the activations, those a reader would not see: a block whose groups differ in
# one compares two changes at once, and the header says so (headline.second_differences). The other
# FOLLOWS_ACTIVATION rows are named where they differ: a custom function's code is the activation itself
# ('code=1a2b3c4d' where only it differs), and a binary task's output width is in the output label
# ('sigmoid (1 unit)'; a 10-class task has 10 units whatever the layer).
UNNAMED_FOLLOWERS = {
    "model.initializer": Follower(
        "hidden_activation", "auto", "give the model one initializer to compare the activations alone"
    ),
}
NAMED_FOLLOWERS = ["hidden_activation_source", "output_units"]


def setting_columns(runs: pd.DataFrame) -> list[str]:
    """Columns describing what a group is (not what it measured), present in `runs`, in catalogue order."""
    return [c for c in group_settings() if c in runs.columns]


def short_name(column: str) -> str:
    """'training.epochs' -> 'epochs', 'hidden_activation' -> 'hidden'."""
    return SETTINGS[column].label if column in SETTINGS else column.rsplit(".", 1)[-1]


def setting_text(column: str, value: Any) -> str:
    """How a setting reads in a label: identity values plainly ('mnist', 'relu'), the rest as 'epochs=1'."""
    row = SETTINGS.get(column)
    if row and row.plain:
        return str(value)
    if pd.isna(value):
        return f"{short_name(column)}=-"
    return f"{short_name(column)}={str(value)[:8] if row and row.digest else value}"


def varying_settings(frame: pd.DataFrame) -> list[str]:
    """Setting columns with more than one value among the rows shown.

    A model's own settings (kernel size, dropout, initialiser) count only where they vary within
    one model label: an MLP beside a CNN differs in kernel size because it is another model, and
    'mlp 128-64' / 'cnn 32-64' already say so.
    """
    found = []
    for column in setting_columns(frame):
        values = frame[column].astype(object).map(str)  # a missing value (limit_train: all) is a value of its own
        if values.nunique() < 2:
            continue
        if column.startswith("model.") or column in FOLLOWS_ACTIVATION:
            within = frame.assign(_value=values).groupby(["model", *ACTIVATION_KEYS], dropna=False)["_value"].nunique()
            if (within < 2).all():
                continue
        found.append(column)
    return found


def tuned_settings(frame: pd.DataFrame) -> set[str]:
    """The settings a tuned experiment chose per candidate (results.csv's `tuned`): they differ within a
    block, each activation at its own choice."""
    if "tuned" not in frame:
        return set()
    return {column for text in frame["tuned"].dropna().unique() for column in json.loads(str(text) or "[]")}


def add_labels(summary: pd.DataFrame) -> pd.DataFrame:
    """Add `block_label` (what varies between blocks) and `label` (what varies within one) to the groups."""
    block_keys, group_keys = _label_keys(summary)
    labelled = summary.copy()
    labelled["block_label"] = [" / ".join(setting_text(c, row[c]) for c in block_keys) for _, row in summary.iterrows()]
    labelled["label"] = [_label(row, group_keys) for _, row in summary.iterrows()]
    return labelled


def candidate_labels(summary: pd.DataFrame) -> list[str]:
    """Each group's label without the settings a tuned experiment chose for it ('sigmoid, lr=0.1' ->
    'sigmoid'): the candidate it is, as the pivot and the tuning table name it."""
    tuned = tuned_settings(summary)
    keys = [c for c in _label_keys(summary)[1] if c not in tuned] or ["hidden_activation"]
    return [_label(row, keys) for _, row in summary.iterrows()]


def _label_keys(summary: pd.DataFrame) -> tuple[list[str], list[str]]:
    """The settings block labels name (what varies between blocks) and those group labels name."""
    varying = varying_settings(summary)
    tuned = tuned_settings(summary)
    block_keys = [c for c in varying if c in block_settings() and c not in tuned]
    group_keys = [c for c in varying if c not in block_keys]
    # One group per block: its activations are still what a reader looks for.
    return block_keys, group_keys or ["hidden_activation"]


def _label(row: pd.Series, keys: list[str]) -> str:
    """'relu -> softmax, lr=0.003': the activations named plainly, the other settings as 'short=value'."""
    return pair_label(*(setting_text(c, row[c]) for c in keys if c in ACTIVATION_KEYS)) + "".join(
        f", {setting_text(c, row[c])}" for c in keys if c not in ACTIVATION_KEYS
    )


def label_column_name(summary: pd.DataFrame) -> str:
    """The heading of the label column: 'hidden', 'output' or 'hidden -> output' (what the labels name)."""
    varying = set(varying_settings(summary))
    shown = [short_name(c) for c in ACTIVATION_KEYS if c in varying] or ["hidden"]
    return pair_label(*shown)


def header_line(summary: pd.DataFrame) -> str:
    """The settings every group shares, e.g. 'mnist, sample, mlp 128-64, output softmax, epochs=1'."""
    varying = set(varying_settings(summary))
    parts = []
    for column in header_settings():
        if column in summary and column not in varying and not summary.empty:
            value = summary[column].iloc[0]
            plain_task = column == "task" and (summary["task_type"] == "multiclass").all()  # the default goes unsaid
            if plain_task or pd.isna(value):
                continue
            parts.append(f"{short_name(column)} {value}" if column in ACTIVATION_KEYS else setting_text(column, value))
    return ", ".join(parts)


def unnamed_differences(summary: pd.DataFrame) -> list[tuple[str, list[str], dict[str, list[str]]]]:
    """Where the groups of a block differ in an UNNAMED_FOLLOWERS setting: (column, the labels of the blocks it
    differs in, each value with the activations that have it), one entry per column and distinct pattern."""
    found: list[tuple[str, list[str], dict[str, list[str]]]] = []
    for column, follower in UNNAMED_FOLLOWERS.items():
        if column not in summary or follower.activation not in summary:
            continue
        patterns: dict[str, tuple[list[str], dict[str, list[str]]]] = {}
        for _, block in summary.groupby("block", sort=True):
            values = block[column].astype(object).map(str)
            if values.nunique() < 2:
                continue
            by_value: dict[str, list[str]] = {}
            for activation, value in sorted(dict(zip(block[follower.activation], values)).items()):
                by_value.setdefault(value, []).append(activation)
            key = json.dumps(by_value)
            patterns.setdefault(key, ([], by_value))[0].append(block["block_label"].iloc[0])
        found += [(column, blocks, by_value) for blocks, by_value in patterns.values()]
    return found


def model_labels(runs: pd.DataFrame) -> pd.Series:
    """'mlp 128-64' or 'cnn 32-64': the model type with its layer widths, for tables and legends."""
    widths = runs.get("model.hidden_units", pd.Series(None, index=runs.index)).where(
        runs["model"] == "mlp", runs.get("model.filters", pd.Series(None, index=runs.index))
    )
    return (runs["model"] + " " + widths.map(_widths_label)).str.strip()


def _widths_label(value: object) -> str:
    """'[128,64]' -> '128-64'; three or more equal widths shorten: '[128,128,128]' -> '128x3'."""
    if not isinstance(value, str):
        return ""
    parts = [str(width) for width in json.loads(value)]
    if len(parts) > 2 and len(set(parts)) == 1:
        return f"{parts[0]}x{len(parts)}"
    return "-".join(parts)


def output_labels(runs: pd.DataFrame) -> pd.Series:
    """For a binary task the width tells output layers apart: 'sigmoid (1 unit)', 'softmax (2 units)'."""
    return pd.Series(
        [
            output_label(name, int(units), task == "binary")
            for name, units, task in zip(runs["output_activation"], runs["output_units"], runs["task_type"])
        ],
        index=runs.index,
        dtype=object,
    )
