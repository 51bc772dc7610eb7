"""The report of a tuned experiment (actbench/tuning.py): what was tuned, over which values, on which data,
with how many tuning seeds; each candidate's choice with its validation score and the runner-up, warning
where a choice sits at the edge of its list or could as well have been the runner-up; and the ranking at
each single value, so a reader sees whether one shared setting would have said the same.

Everything here is read from selection.json, which holds every tuning run's score: the tuning runs are
never tested, and the verdicts read only the final runs (stage 2), on the experiment's own seeds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from actbench import results
from actbench.config.schema import TUNE_SCORES
from actbench.report.labels import candidate_labels

TABLE_COLUMNS = [
    "block_id",
    "block_label",
    "label",
    "group_id",
    "chosen",
    "score_mean",
    "score_sd",
    "runner_up",
    "runner_up_mean",
    "at_edge",
    "close",
]


@dataclass
class Tuned:
    """A tuned experiment's choices, from its selection.json."""

    settings: list[str]  # the spec fields tuned ('training.learning_rate')
    score: str  # val_loss or val_accuracy
    tuning_seeds: list[int]
    seeds: list[int]
    choices: pd.DataFrame  # one row per candidate: TABLE_COLUMNS
    values: pd.DataFrame  # one row per candidate and value: block_id, label, value, mean, sd, scores

    @property
    def lower_is_better(self) -> bool:
        return TUNE_SCORES[self.score] == "min"

    def table(self) -> pd.DataFrame:
        """The choices as numbers, for report_tables()["tuning"] and tuning.csv."""
        return self.choices[TABLE_COLUMNS]


def experiment_tuning(exp_dir: Path, summary: pd.DataFrame) -> Tuned | None:
    """The tuned experiment's choices with each candidate named as the report names its group (from
    `summary`, the final runs' groups), or None where the experiment was not tuned."""
    selection = results.read_selection(exp_dir)
    if not selection:
        return None
    names = (
        summary.assign(candidate=candidate_labels(summary)).set_index("group_id")[["candidate", "hidden_activation"]]
        if not summary.empty
        else pd.DataFrame()
    )
    blocks = summary.drop_duplicates("block_id").set_index("block_id")["block_label"] if not summary.empty else {}
    rows, values = [], []
    for choice in selection["choices"]:
        group = choice.get("group_id")
        known = group in getattr(names, "index", ())
        chosen = _value_text(choice["chosen"]) if choice["chosen"] else None
        label = names.loc[group, "candidate"] if known else choice["label"]
        hidden = names.loc[group, "hidden_activation"] if known else choice["label"]
        block = choice.get("block_id")
        block_label = blocks.get(block, "") if hasattr(blocks, "get") else ""
        scored = {_value_text(value["setting"]): value for value in choice["values"]}
        runner_up = _value_text(choice["runner_up"]) if choice.get("runner_up") else None
        rows.append(
            {
                "block_id": block,
                "block_label": block_label,
                "label": label,
                "group_id": group,
                "chosen": chosen,
                "score_mean": _float(scored[chosen]["mean"]) if chosen else math.nan,
                "score_sd": _float(scored[chosen]["sd"]) if chosen else math.nan,
                "runner_up": runner_up,
                "runner_up_mean": _float(scored[runner_up]["mean"]) if runner_up else math.nan,
                "at_edge": bool(choice.get("at_edge")),
                "close": bool(choice.get("close")),
            }
        )
        for value in choice["values"]:
            values.append(
                {
                    "block_id": block,
                    "label": label,
                    "hidden": hidden,
                    "value": _value_text(value["setting"]),
                    "number": _number_of(value["setting"]),
                    "mean": _float(value["mean"]),
                    "sd": _float(value["sd"]),
                    "scores": [_float(score) for score in value["scores"]],
                    "chosen": _value_text(value["setting"]) == chosen,
                }
            )
    return Tuned(
        list(selection["tuned"]),
        selection["score"],
        list(selection["tuning_seeds"]),
        list(selection["seeds"]),
        pd.DataFrame(rows, columns=TABLE_COLUMNS),
        pd.DataFrame(values),
    )


def tuning_lines(tuned: Tuned, validation_split: float | None) -> list[str]:
    """The header's account of the protocol, then the warnings its choices call for."""
    names = ", ".join(setting.rsplit(".", 1)[-1] for setting in tuned.settings)
    values = sorted(set(tuned.values["value"]), key=_sort_key) if not tuned.values.empty else []
    if len(tuned.settings) == 1:  # 'learning_rate over 0.001 / 0.01', not 'over lr=0.001 / lr=0.01'
        values = [value.split("=", 1)[-1] for value in values]
    listed = " / ".join(values)
    data = f"{validation_split:.0%} of the training images" if validation_split else "the validation split"
    seeds, tuning = _seeds(tuned.seeds), _seeds(tuned.tuning_seeds)
    lines = [
        f"tuned: {names} over {listed}, chosen per candidate by the best mean {tuned.score} on validation data "
        f"({data}) over {len(tuned.tuning_seeds)} tuning seeds ({tuning}), never tested; the verdicts are on the "
        f"experiment's {len(tuned.seeds)} fresh seeds ({seeds}), each candidate at its own choice"
    ]
    edge = tuned.choices[tuned.choices["at_edge"]]
    if not edge.empty:
        lines.append(
            f"at the edge of its list: {_names(edge)}'s choice is the first or last value; widen the list to see "
            "whether a value beyond it does better"
        )
    close = tuned.choices[tuned.choices["close"]]
    if not close.empty:
        lines.append(
            f"close call: {_names(close)}'s runner-up scored within the chosen value's spread over the tuning "
            "seeds; more tuning seeds would make the choice firmer"
        )
    return lines


def tuning_rows(tuned: Tuned) -> pd.DataFrame:
    """The tuning table for display: per candidate its choice, its validation score ± spread, the runner-up."""
    choices = tuned.choices
    arrow = "lower" if tuned.lower_is_better else "higher"
    table = pd.DataFrame(
        {
            "block": choices["block_label"],
            "candidate": choices["label"],
            "chosen": choices["chosen"].fillna("none"),
            f"{tuned.score} ({arrow} is better)": [
                _with_spread(mean, sd) for mean, sd in zip(choices["score_mean"], choices["score_sd"])
            ],
            "runner-up": [
                f"{name} ({_figure(mean)})" if name else "-"
                for name, mean in zip(choices["runner_up"], choices["runner_up_mean"])
            ],
            "note": [
                ", ".join(filter(None, ["at the edge" if edge else "", "close" if close else ""]))
                for edge, close in zip(choices["at_edge"], choices["close"])
            ],
        }
    )
    return _without_blank_blocks(table)


def single_value_rows(tuned: Tuned) -> pd.DataFrame:
    """Per block and value of the tuned setting, the candidates in the order their validation scores put
    them at that one shared value, and whether the tuned choices keep that order's best."""
    rows = []
    best_tuned = _best_tuned(tuned)
    for (block, value), at_value in tuned.values.groupby(["block_id", "value"], sort=False):
        ranked = at_value.sort_values("mean", ascending=tuned.lower_is_better)
        order = " > ".join(f"{row.label} {_figure(row.mean)}" for row in ranked.itertuples())
        block_label = tuned.choices.loc[tuned.choices["block_id"] == block, "block_label"].iloc[0]
        rows.append(
            {
                "block": block_label,
                "shared value": value,
                "order on validation data (best first)": order,
                "same best as tuned": "yes" if ranked["label"].iloc[0] == best_tuned.get(str(block)) else "no",
            }
        )
    return _without_blank_blocks(pd.DataFrame(rows))


def _without_blank_blocks(table: pd.DataFrame) -> pd.DataFrame:
    """The table without its block column where the experiment has one block (no label to show)."""
    blank = "block" in table and table["block"].fillna("").eq("").all()
    return table.drop(columns="block") if blank else table


def _best_tuned(tuned: Tuned) -> dict[str, str]:
    """Per block, the candidate whose choice scored best on validation data."""
    best: dict[str, str] = {}
    for block, choices in tuned.choices.dropna(subset=["score_mean"]).groupby("block_id", sort=False):
        top = choices.sort_values("score_mean", ascending=tuned.lower_is_better).iloc[0]
        best[str(block)] = top["label"]
    return best


def _names(frame: pd.DataFrame) -> str:
    labels = [
        f"{label} ({block})" if block else str(label) for label, block in zip(frame["label"], frame["block_label"])
    ]
    return ", ".join(labels[:6]) + (f" and {len(labels) - 6} more" if len(labels) > 6 else "")


def _value_text(setting: dict[str, Any]) -> str:
    """'lr=0.003', 'dropout=0.2, lr=0.001': a value of the tuned settings as labels write it."""
    from actbench.settings_catalogue import SETTINGS

    parts = []
    for name, value in setting.items():
        column = name if name in SETTINGS else name.rsplit(".", 1)[-1]
        short = SETTINGS[column].label if column in SETTINGS else name.rsplit(".", 1)[-1]
        parts.append(f"{short}={value:g}" if isinstance(value, float) else f"{short}={value}")
    return ", ".join(parts)


def _number_of(setting: dict[str, Any]) -> float | None:
    """The value as a number where one setting is tuned and it is one (a plot's x axis), else None."""
    if len(setting) != 1:
        return None
    value = next(iter(setting.values()))
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _sort_key(text: str) -> tuple[float, str]:
    try:
        return float(text.split("=", 1)[1]), text
    except (IndexError, ValueError):
        return math.inf, text


def _float(value: Any) -> float:
    if value is None:
        return math.nan
    if isinstance(value, str):  # infinities are stored as text (a diverged run scores worst)
        return float(value)
    return float(value)


def _figure(value: float) -> str:
    return "diverged" if math.isinf(value) else ("-" if math.isnan(value) else f"{value:.4f}")


def _with_spread(mean: float, sd: float) -> str:
    return _figure(mean) if math.isnan(sd) or math.isinf(mean) else f"{mean:.4f} ± {sd:.4f}"


def _seeds(seeds: list[int]) -> str:
    return ", ".join(map(str, seeds))
