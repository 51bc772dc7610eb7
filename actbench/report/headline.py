"""The report's sentences: what it covers, what every group shares, who won, and every caveat."""

from __future__ import annotations

from typing import Any

import pandas as pd

from actbench.naming import pair_label
from actbench.report import ExperimentReport
from actbench.report.aggregate import mean_std
from actbench.report.labels import UNNAMED_FOLLOWERS, header_line, short_name, unnamed_differences
from actbench.report.scope import scope_sentence
from actbench.report.tables import EXACT_MARK, WELCH_MARK
from actbench.report.tuning import tuning_lines

MAX_NAMED = 6  # beyond this many groups a sentence gives a count instead of names


def headline(report: ExperimentReport) -> list[str]:
    """Plain sentences: counts, scope, the shared settings, each block's best set, and the caveats."""
    runs, summary = report.runs, report.aggregated.summary
    counts = runs["status"].value_counts().to_dict() if not runs.empty else {}
    status = ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) or "none complete"
    lines = [f"{report.name}: {scope_sentence(report.scope, len(runs), status)}"]
    if "source" in runs and (runs["source"] == "sample").any():
        share = "all runs" if (runs["source"] == "sample").all() else "some runs (column 'source')"
        lines.append(f"note: {share} used the embedded data sample, not the full dataset")
    if summary.empty:
        return lines + report.notes
    shared = header_line(summary)
    seeds = summary["n"].iloc[0] if summary["n"].nunique() == 1 else None
    lines.append("same for every group: " + ", ".join(filter(None, [shared, f"{seeds} seeds each" if seeds else ""])))
    if report.tuned is not None:
        split = (
            summary["training.validation_split"] if "training.validation_split" in summary else pd.Series(dtype=float)
        )
        lines += tuning_lines(report.tuned, float(split.iloc[0]) if split.nunique() == 1 else None)
    lines += _second_differences(summary)
    pairs = sorted(set(summary.loc[summary["pairs"] > 0, "pairs"]))
    if pairs:
        if pairs == [1]:
            method = "a paired t-test on the seeds the two groups share (one pair per block: nothing to correct)"
        else:
            family = (
                f"the {pairs[0]} pairs of each block"
                if len(pairs) == 1
                else f"all pairs of each block ({pairs[0]}-{pairs[-1]})"
            )
            method = f"paired t-tests on the seeds two groups share, Holm-corrected over {family}"
        lines.append(f"verdicts: {method}; 95% intervals cover seed-to-seed variation on one fixed test set")
    for _, block in summary.groupby("block", sort=True):
        lines += _block_sentences(block)
    lines += _keras_accuracy_notes(summary)
    lines += _early_stopping_notes(report.runs)
    return lines + report.notes


def _second_differences(summary: pd.DataFrame) -> list[str]:
    """Say where a block's groups differ in more than their activations: `initializer: auto` gives relu
    he_normal and sigmoid glorot_uniform, so 'relu vs sigmoid' compares two changes at once."""
    several_blocks = summary["block"].nunique() > 1
    lines = []
    for column, blocks, by_value in unnamed_differences(summary):
        follower, name = UNNAMED_FOLLOWERS[column], short_name(column)
        where = f" on {', '.join(blocks)}" if several_blocks and len(blocks) < summary["block"].nunique() else ""
        between = "; " if any(len(names) > 1 for names in by_value.values()) else ", "
        values = between.join(f"{value} for {', '.join(names)}" for value, names in by_value.items())
        lines.append(
            f"differs with the activation{where}: {name} ({follower.rule}: {values}), so each comparison "
            f"changes both; {follower.alone}"
        )
    return lines


def _block_sentences(block: pd.DataFrame) -> list[str]:
    where = f" on {block['block_label'].iloc[0]}" if block["block_label"].iloc[0] else ""
    top = block[block["verdict"] == "best"]
    lines = []
    if not top.empty:
        best = top.iloc[0]
        line = f"best{where}: {best['label']} at {mean_std(best['acc_mean'], best['acc_std'])} test accuracy (n={best['n']})"
        tied = block.loc[block["verdict"] == "not distinguishable", "label"].tolist()
        tested = block["verdict"].isin(["not distinguishable", "worse"]).sum()
        if tied:
            names = ", ".join(tied) if len(tied) <= MAX_NAMED else f"{len(tied)} of the {tested} others"
            line += f"; not distinguishable from it: {names}"
            if len(tied) == tested and tested > 1:
                line += f" (at {best['n']} seeds; more seeds narrow the intervals)"
        elif tested:
            line += "; every other group is worse"
        lines.append(line)
    few = block[block["verdict"] == "too few seeds"]
    if not few.empty:
        lines.append(
            f"too few seeds to compare{where} (fewer than 2 finished): "
            + ", ".join(f"{row.label} ({row.n} of {row.runs} finished)" for row in few.itertuples())
        )
    flat = block[block["did_not_learn"]]
    if not flat.empty:
        lines.append(
            f"did not learn{where} (mean accuracy within 3 standard errors of always guessing the commonest "
            f"class, {flat['chance_level'].iloc[0]:.3f}): "
            + ", ".join(f"{row.label} ({row.acc_mean:.4f})" for row in flat.itertuples())
        )
    unpaired = block[block["test"] == "Welch t"]
    if not unpaired.empty:
        lines.append(
            f"{WELCH_MARK} unpaired Welch test{where}, these groups share fewer than 2 seeds with the top: "
            + ", ".join(unpaired["label"])
        )
    constant = block[block["test"] == "Welch t, equal paired differences"]
    if not constant.empty:
        lines.append(
            f"{WELCH_MARK} Welch test{where}, the difference from the top is the same on every seed (paired t "
            "undefined): " + ", ".join(constant["label"])
        )
    no_d = block[block["effect_size"].isna() & block["diff_vs_top"].notna()]
    if not no_d.empty:
        lines.append(
            f"Cohen's d undefined{where} for "
            + ", ".join(no_d["label"])
            + ": it or the top scored the same on every seed, so there is no spread to scale the difference by"
        )
    for row in block[block["test"].str.startswith("exact")].itertuples():
        lines.append(
            f"{EXACT_MARK} {row.label}{where}: it and the top each scored the same on every seed, so no t-test is defined; "
            f"an exact {row.test.removeprefix('exact ')} test was used, and with {row.n} seeds it cannot go below p = {row.p_floor:.2f}"
        )
    return lines


def _keras_accuracy_notes(summary: pd.DataFrame) -> list[str]:
    """Say where Keras' plain metrics=["accuracy"] would have reported a different number."""
    if "keras_accuracy_mean" not in summary:
        return []
    notes = []
    row: Any  # itertuples() rows are namedtuples of this frame's columns, unknown to the type checker
    for row in summary.itertuples():
        gap = row.keras_accuracy_mean - row.acc_mean
        if abs(gap) > 5e-7:
            where = f" on {row.block_label}" if row.block_label else ""
            notes.append(
                f"Keras' plain 'accuracy' misjudges {pair_label(row.hidden_activation, row.output_activation)}{where}: "
                f"{row.keras_accuracy_mean:.4f} instead of {row.acc_mean:.4f} ({gap:+.4f}); it rounds that output at 0.5"
            )
    return notes


def _early_stopping_notes(runs: pd.DataFrame) -> list[str]:
    """Say where the seeds of one group trained for different numbers of epochs: early stopping ended them apart."""
    if "epochs_run" not in runs or "training.early_stopping" not in runs:
        return []
    stopping = runs[(runs["status"] == "finished") & (runs["training.early_stopping"] != "off")]
    notes = []
    for _, group in stopping.groupby("group_id", sort=False):
        epochs = group["epochs_run"].astype(int)
        if epochs.nunique() > 1:
            first = group.iloc[0]
            where = f" on {first['block_label']}" if first["block_label"] else ""
            notes.append(
                f"{first['label']}{where}: seeds stopped at epochs {epochs.min()}-{epochs.max()} (early stopping)"
            )
    return notes
