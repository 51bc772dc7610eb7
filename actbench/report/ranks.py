"""The report's overall section: which activation ranks best across the blocks of an experiment, or of several.

What is ranked is the hidden activation (the output layer where the scope holds one hidden activation
and several output layers). It competes in *settings*: each block and, within it, each value of the
other activation setting (a block of 6 hidden activations x 3 output layers is 3 settings of 6). Per
setting an activation's score is its group's mean test accuracy over seeds (what the verdicts
compare); a group whose every seed diverged scores below all others (it ranks last there), one with
no finished or diverged run (failed, or not run yet) has no score. Only activations scored in every
setting are ranked (the common set); the others are named. The same group in two experiments (same
settings, same runs) counts once. actbench.rank_stats does the statistics.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from actbench.rank_stats import NOT_TESTED, RankVerdicts, blocks_needed, rank_verdicts
from actbench.report.labels import setting_text
from actbench.report.tables import _p
from actbench.results import RunStatus

if TYPE_CHECKING:
    from actbench.report import ExperimentReport

# What can be ranked, first choice first: its columns (the first names it, the others follow it) and the
# label column's heading. The other entry's columns, with the block, make the settings.
RANKED = {
    "hidden activation": (["hidden_activation", "hidden_activation_source", "model.initializer"], "hidden"),
    "output layer": (["output_activation", "output_units"], "output"),
}
ACROSS = "all experiments"  # the scope of the section over several experiments
# The other activation setting in a setting's label: 'output softmax', 'hidden relu'.
RANKED_NAMES = {"output_activation": "output", "hidden_activation": "hidden"}


@dataclass
class Overall:
    """The ranks of `labels` over `settings` and their verdicts (None where fewer than two are in every setting)."""

    scope: str  # the experiment's name, or ACROSS
    what: str  # a key of RANKED
    labels: list[str]  # the ranked activations, in the columns' order
    settings: list[str]  # the settings' labels, in the rows' order
    scores: np.ndarray  # settings x labels: mean test accuracy over seeds, -inf where every seed diverged
    verdicts: RankVerdicts | None
    left_out: dict[str, int] = field(default_factory=dict)  # activations not in every setting: in how many
    notes: list[str] = field(default_factory=list)
    members: dict[str, str] = field(default_factory=dict)  # group_id -> its ranked activation's label

    @property
    def heading(self) -> str:
        """The label column's heading: 'hidden' or 'output', as in the block tables."""
        return RANKED[self.what][1]

    def table(self) -> pd.DataFrame:
        """One row per ranked activation, by average rank: the numbers behind the section (CSV, JSON, API)."""
        if self.verdicts is None:
            return pd.DataFrame(columns=TABLE_COLUMNS)
        v = self.verdicts
        best_rank = v.ranks.min(axis=1, keepdims=True)
        rows = pd.DataFrame(
            {
                "scope": self.scope,
                "ranked": self.what,
                "label": self.labels,
                "average_rank": v.average,
                "blocks": v.blocks,
                "best_in": (v.ranks == best_rank).sum(axis=0),
                "rank_gap": v.average - v.average[v.best],
                "p_nemenyi": v.p_vs_best,
                "verdict": v.verdict,
                "friedman_statistic": v.statistic,
                "friedman_p": v.p_value,
                "critical_difference": v.critical_difference,
                "conclusive": v.conclusive,
            }
        )
        return rows.sort_values(["average_rank", "label"], kind="stable").reset_index(drop=True)

    def block_ranks(self) -> pd.DataFrame:
        """Settings as rows, activations as columns (by average rank), each cell its rank in that setting."""
        if self.verdicts is None:
            return pd.DataFrame()
        frame = pd.DataFrame(self.verdicts.ranks, index=self.settings, columns=self.labels)
        return frame[list(self.table()["label"])]


TABLE_COLUMNS = [
    "scope",
    "ranked",
    "label",
    "average_rank",
    "blocks",
    "best_in",
    "rank_gap",
    "p_nemenyi",
    "verdict",
    "friedman_statistic",
    "friedman_p",
    "critical_difference",
    "conclusive",
]


def experiment_overall(name: str, summary: pd.DataFrame, runs: pd.DataFrame) -> Overall | None:
    """The overall section of one experiment: None unless it holds two settings that rank the same kind."""
    if summary.empty:
        return None
    return _overall(name, summary.assign(experiment=name), runs, several=False)


def overall_across(reports: list[ExperimentReport]) -> Overall | None:
    """The section over every experiment of a report with several that have runs; None otherwise."""
    shown = [r for r in reports if not r.aggregated.summary.empty]
    if len(shown) < 2:
        return None
    summary = pd.concat([r.aggregated.summary.assign(experiment=r.name) for r in shown], ignore_index=True)
    runs = pd.concat([r.runs for r in shown], ignore_index=True)
    return _overall(ACROSS, summary, runs, several=True)


def _overall(scope: str, summary: pd.DataFrame, runs: pd.DataFrame, several: bool) -> Overall | None:
    groups = summary.copy()
    for columns, _ in RANKED.values():
        for column in columns:
            groups[column] = groups[column].astype(object).map(_text) if column in groups else ""
    what = next((w for w, (columns, _) in RANKED.items() if groups[columns].drop_duplicates().shape[0] > 1), None)
    if what is None:
        return None
    ranked = RANKED[what][0]
    others = [c for w, (columns, _) in RANKED.items() if w != what for c in columns]
    groups["_treatment"] = list(zip(*(groups[c] for c in ranked)))
    groups["_setting"] = list(zip(groups["block_id"], *(groups[c] for c in others)))
    notes = []
    repeated = groups.duplicated(["_setting", "_treatment"])
    if repeated.any():
        notes.append(
            f"{int(repeated.sum())} groups appear in more than one experiment with the same settings; each counted once"
        )
        groups = groups[~repeated]
    diverged = _all_diverged(runs)
    groups["_score"] = [
        -math.inf if math.isnan(mean) and group in diverged else mean
        for mean, group in zip(groups["acc_mean"], groups["group_id"])
    ]
    scored = groups.dropna(subset=["_score"])
    settings = list(dict.fromkeys(groups.sort_values(["experiment", "block", *others], kind="stable")["_setting"]))
    if len(settings) < 2:
        return None
    setting_labels = _setting_labels(groups, settings, others[0], several)
    last = scored[np.isinf(scored["_score"])]
    for treatment, setting in zip(last["_treatment"], last["_setting"]):
        notes.append(
            f"{_treatment_label(groups, treatment, ranked)} on {setting_labels[settings.index(setting)]}: "
            "every seed diverged; ranked last there"
        )
    held = scored.groupby("_treatment", sort=False)["_setting"].nunique()
    common = [t for t in dict.fromkeys(groups["_treatment"]) if held.get(t, 0) == len(settings)]
    missing = [t for t in dict.fromkeys(groups["_treatment"]) if t not in common]
    left_out = {
        _treatment_label(groups, t, ranked): int(held.get(t, 0))
        for t in sorted(missing, key=lambda t: -held.get(t, 0))  # the nearly common first
    }
    labels = [_treatment_label(groups, t, ranked) for t in common]
    scores = (
        scored.pivot_table(index="_setting", columns="_treatment", values="_score", aggfunc="first", sort=False)
        .reindex(index=settings, columns=common)
        .to_numpy(dtype=float)
        if common
        else np.empty((len(settings), 0))
    )
    same = pd.DataFrame(np.round(scores, 9)).duplicated().to_numpy() if common else np.zeros(len(settings), bool)
    for index in np.flatnonzero(same):  # e.g. a linear output under a from-logits loss: the softmax network again
        notes.append(
            f"{setting_labels[index]}: every {what} scored exactly as in an earlier block (the same networks); "
            "counted once"
        )
    scores, setting_labels = scores[~same], [label for label, copy in zip(setting_labels, same) if not copy]
    if len(setting_labels) < 2:
        return None
    verdicts = rank_verdicts(scores) if len(common) >= 2 else None
    label_of = dict(zip(common, labels))
    members = {
        str(g): label_of[t] for g, t in zip(groups["group_id"], groups["_treatment"]) if t in label_of and verdicts
    }
    return Overall(scope, what, labels, setting_labels, scores, verdicts, left_out, notes, members)


def _text(value: object) -> str:
    """A setting's value as one comparable text; a missing one (an older run's) is ''."""
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA else str(value)


def _all_diverged(runs: pd.DataFrame) -> set[str]:
    """Groups whose every run diverged: they did train, and scored worst."""
    if runs.empty or "status" not in runs:
        return set()
    statuses = runs.groupby("group_id")["status"].agg(set)
    return {str(group) for group, seen in statuses.items() if seen == {RunStatus.DIVERGED}}


def _treatment_label(groups: pd.DataFrame, treatment: tuple[str, ...], ranked: list[str]) -> str:
    """'relu', or 'relu, code=1a2b3c4d' where the first column's value alone does not tell two apart."""
    same_name = groups[groups[ranked[0]] == treatment[0]]
    extra = [
        setting_text(column, value)
        for column, value in zip(ranked[1:], treatment[1:])
        if same_name[column].nunique() > 1 and column != "output_units"  # the output label already holds its width
    ]
    return ", ".join([treatment[0], *extra])


def _setting_labels(groups: pd.DataFrame, settings: list[tuple[str, ...]], other: str, several: bool) -> list[str]:
    """'fashion_mnist / cnn 8-16 / output softmax': the experiment (when several), the block's label, and the
    other activation setting where it varies."""
    first = groups.drop_duplicates("_setting").set_index("_setting")
    vary = first[other].nunique() > 1
    labels = []
    for setting in settings:
        row = first.loc[[setting]].iloc[0]
        parts = [row["experiment"] if several else "", row["block_label"]]
        if vary:
            parts.append(f"{RANKED_NAMES[other]} {row[other]}")
        labels.append(" / ".join(part for part in parts if part) or str(row["experiment"]))
    return labels


def overall_lines(overall: Overall) -> list[str]:
    """The section's sentences under its table: the test, what it separates, what was left out and why."""
    kind, count = overall.what, len(overall.settings)
    lines = []
    v = overall.verdicts
    if v is None:
        lines.append(
            f"no two {kind}s are in every one of the {count} blocks: nothing to rank "
            f"(--filter narrows the report to blocks that share their {kind}s)"
        )
    elif not v.conclusive:
        k = len(overall.labels)
        lines.append(
            f"{count} blocks are too few to test {k} {kind}s: even if every block ranked them alike the test could "
            f"not separate any (it needs at least {blocks_needed(k)}); the average ranks are shown, not tested"
        )
    else:
        order = overall.table()
        best = order["label"].iloc[0]
        test = (
            f"Friedman test over {count} blocks: chi-square {v.statistic:.2f}, {p_phrase(v.p_value)} "
            f"(permutation p, {len(overall.labels)} {kind}s)"
        )
        if not v.rejected:
            lines.append(f"{test}: the data do not separate the {kind}s; {best} has the best average rank")
        else:
            worse = order.loc[order["verdict"] == "worse", "label"].tolist()
            tied = order.loc[order["verdict"] == "not distinguishable", "label"].tolist()
            lines.append(f"{test}: the {kind}s differ")
            found = (
                f"separated from {best} (best average rank): {', '.join(worse)}"
                if worse
                else f"none is separated from {best} (best average rank)"
            )
            lines.append(
                f"Nemenyi: average ranks more than {v.critical_difference:.2f} apart differ; {found}"
                + (f"; not separable from it: {', '.join(tied)}" if tied else "")
            )
    if overall.left_out:
        names = ", ".join(f"{name} (in {held} of {count})" for name, held in overall.left_out.items())
        lines.append(f"left out, not in every block: {names}; only the {kind}s in every block are ranked")
    return lines + overall.notes


def overall_title(overall: Overall) -> str:
    where = f" across {ACROSS}" if overall.scope == ACROSS else ""
    return (
        f"overall{where}: average rank of each {overall.what} over {len(overall.settings)} blocks "
        "(1 = highest mean test accuracy in a block; ties share their places)"
    )


def overall_rows(overall: Overall) -> pd.DataFrame:
    """The section's table as display strings."""
    table = overall.table()
    if overall.verdicts is None:
        return pd.DataFrame()
    tested, rejected = overall.verdicts.conclusive, overall.verdicts.rejected
    shown = pd.DataFrame(
        {
            "#": _positions(table["average_rank"]),
            overall.heading: table["label"],
            "avg rank": [f"{rank:.2f}" for rank in table["average_rank"]],
            "best in": table["best_in"].astype(str),
            "vs best": ["-" if i == 0 else f"{gap:+.2f}" for i, gap in enumerate(table["rank_gap"])],
        }
    )
    if rejected:
        shown["p (Nemenyi)"] = [_p(p) for p in table["p_nemenyi"]]
    if tested:
        shown["verdict"] = table["verdict"].replace(NOT_TESTED, "-")
    return shown


def _positions(average: pd.Series) -> list[str]:
    rounded = average.round(9)
    places = rounded.rank(method="min").astype(int)
    counts = rounded.map(rounded.value_counts())
    return [f"{place}=" if ties > 1 else str(place) for place, ties in zip(places, counts)]


def p_phrase(value: float) -> str:
    """'p = 0.012', or 'p < 0.001'."""
    text = _p(value)
    return f"p {text[0]} {text[1:]}" if text.startswith("<") else f"p = {text}"
