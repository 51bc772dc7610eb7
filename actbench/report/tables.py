"""The report's tables as DataFrames of display strings: one per block, the extra metrics, problems, pivot.

Which columns a table has depends on `wide`: the default keeps what answers "which won, by how
much, is it real"; wide (and the markdown file) adds every setting and timing.
"""

from __future__ import annotations

import math

import pandas as pd

from actbench.errors import ActbenchError
from actbench.metrics_catalogue import EXTRA_TABLES, Metric, in_table
from actbench.report.aggregate import mean_std
from actbench.report.labels import label_column_name, short_name, varying_settings
from actbench.settings_catalogue import plain_settings

# --sort-by NAME: (summary column, ascending). Fixed, so a bad name is refused before any folder is read.
SORT_KEYS = {
    "rank": ("rank", True),
    "accuracy": ("acc_mean", False),
    "activation": ("label", True),
    "n": ("n", False),
    "difference": ("diff_vs_top", False),
    "p": ("p_holm", True),
    **{metric.sort_key: (metric.mean_column, not metric.higher_is_better) for metric in in_table("accuracy")},
}
# Dropped first, in this order, when the default table does not fit the terminal.
OPTIONAL_COLUMNS = ["d", "95% CI", "p (Holm)"]
WELCH_MARK, EXACT_MARK = "†", "‡"
UNDEFINED_D = "undefined"  # Cohen's d where a group scored the same on every seed: nothing to scale by


def check_sort_key(sort_by: str | None) -> None:
    if sort_by is not None and sort_by not in SORT_KEYS:
        raise ActbenchError(f"--sort-by {sort_by!r}: use one of {', '.join(repr(k) for k in SORT_KEYS)}")


def block_tables(
    summary: pd.DataFrame, sort_by: str | None = None, wide: bool = False
) -> list[tuple[str, pd.DataFrame]]:
    """One (title, table) per block, rows ranked (or sorted by `sort_by`) within it."""
    check_sort_key(sort_by)
    if summary.empty:
        return []
    tables = []
    for _, block in summary.groupby("block", sort=True):
        if sort_by:
            column, ascending = SORT_KEYS[sort_by]
            block = block.sort_values(column, ascending=ascending, kind="stable", na_position="last")
        label = block["block_label"].iloc[0]
        title = f"{label}: test accuracy over seeds" if label else "test accuracy over seeds"
        tables.append((title, group_rows(summary, block, wide)))
    return tables


def group_rows(summary: pd.DataFrame, block: pd.DataFrame, wide: bool) -> pd.DataFrame:
    shown = pd.DataFrame(index=block.index)
    shown["#"] = [
        _rank(rank, ties) for rank, ties in zip(block["rank"], block["rank"].map(block["rank"].value_counts()))
    ]
    if wide:
        for column in [*plain_settings(), *varying_settings(summary)]:
            if column in block and short_name(column) not in shown:
                shown[short_name(column)] = block[column].astype(str)
    else:
        shown[label_column_name(summary)] = block["label"]
    if wide or summary["n"].nunique() > 1 or summary["not_finished"].any():
        shown["n"] = [f"{n} of {runs}" if runs > n else str(n) for n, runs in zip(block["n"], block["runs"])]
    shown["test accuracy"] = [mean_std(m, s) for m, s in zip(block["acc_mean"], block["acc_std"])]
    shown["95% CI"] = [_interval(lo, hi) for lo, hi in zip(block["acc_ci_low"], block["acc_ci_high"])]
    shown["vs top ± 95% CI"] = [
        _difference(d, lo, hi) for d, lo, hi in zip(block["diff_vs_top"], block["diff_low"], block["diff_high"])
    ]
    shown["d"] = [_effect_size(d, difference) for d, difference in zip(block["effect_size"], block["diff_vs_top"])]
    shown["p (Holm)"] = [_p(p) + _mark(test) for p, test in zip(block["p_holm"], block["test"])]
    shown["verdict"] = [
        verdict + ("; did not learn" if flat else "") for verdict, flat in zip(block["verdict"], block["did_not_learn"])
    ]
    if block["p_holm"].isna().all() and not wide:  # nothing compared in this block: no comparison columns
        shown = shown.drop(columns=["vs top ± 95% CI", "d", "p (Holm)"])
    if wide:
        shown["test"] = block["test"].replace("", "-")
        shown["p (raw)"] = [_p(p) for p in block["p_value"]]
        for metric in in_table("accuracy"):
            shown[metric.label] = [_number(v, metric.digits) for v in block[metric.mean_column]]
    return shown.reset_index(drop=True)


def metric_rows(summary: pd.DataFrame, block: pd.DataFrame, metrics: list[Metric]) -> pd.DataFrame:
    """The block's groups as rows, the given metrics as 'mean ± std' columns; empty when no run recorded any."""
    present = [m for m in metrics if m.mean_column in block and block[m.mean_column].notna().any()]
    if not present:
        return pd.DataFrame()
    rows = block.dropna(subset=[m.mean_column for m in present], how="all")
    shown = pd.DataFrame({label_column_name(summary): rows["label"], "n": rows["n"].astype(str)})
    for metric in present:
        means, spreads = rows[metric.mean_column], rows[metric.std_column]
        shown[metric.label] = [mean_std(m, s, metric.digits) for m, s in zip(means, spreads)]
    return shown.reset_index(drop=True)


def extra_tables(summary: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """Per metric family and block: output-layer metrics, the positive class of a binary task, diagnostics."""
    tables = []
    for table, title in EXTRA_TABLES.items():
        for _, block in summary.groupby("block", sort=True) if not summary.empty else []:
            frame = metric_rows(summary, block, in_table(table))
            where = block["block_label"].iloc[0]
            if not frame.empty:
                tables.append((f"{where}: {title}" if where else title, frame))
    return tables


def problem_rows(problems: pd.DataFrame) -> pd.DataFrame:
    """Diverged and failed runs: which group and seed, how far they got, and the error."""
    if problems.empty:
        return pd.DataFrame()
    shown = pd.DataFrame({"run_id": problems["run_id"], "status": problems["status"]})
    if "block_label" in problems and problems["block_label"].fillna("").ne("").any():
        shown["block"] = problems["block_label"]
    shown["group"] = problems["label"] if "label" in problems else problems["hidden_activation"]
    shown["seed"] = problems["seed"]
    if "epochs_run" in problems:
        shown["epochs run"] = [_number(v, ".0f") for v in pd.to_numeric(problems["epochs_run"], errors="coerce")]
    if "error" in problems:
        shown["error"] = problems["error"]
    return shown.fillna("").astype(str).reset_index(drop=True)


def pivot_frame(pivot: pd.DataFrame, summary: pd.DataFrame) -> pd.DataFrame:
    if pivot.empty:
        return pd.DataFrame()
    return pivot.reset_index().rename(columns={"label": label_column_name(summary)}).rename_axis(columns=None)


def _rank(rank: float, ties: float) -> str:
    if rank is None or math.isnan(rank):
        return "-"
    return f"{int(rank)}=" if ties > 1 else str(int(rank))


def _interval(low: float, high: float) -> str:
    return "-" if math.isnan(low) else f"[{low:.4f}, {high:.4f}]"


def _difference(difference: float, low: float, high: float) -> str:
    if math.isnan(difference):
        return "-"
    difference = round(difference, 4) + 0.0  # no "-0.0000"
    if math.isnan(low):  # exact test: no interval
        return f"{difference:+.4f}"
    half = (high - low) / 2
    # An interval wider than ±1 says only that the seeds are too few: three digits are plenty.
    return f"{difference:+.4f} ± {half:.4f}" if half < 1 else f"{difference:+.4f} ± {half:.3g}"


def _effect_size(d: float, difference: float) -> str:
    """Cohen's d; 'undefined' where the group was compared but it or the top has no spread over seeds."""
    if math.isnan(d) and not math.isnan(difference):
        return UNDEFINED_D
    return _number(d, ".1f")


def _number(value: float, digits: str) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:{digits}}"


def _p(value: float) -> str:
    if value is None or math.isnan(value):
        return "-"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def _mark(test: str) -> str:
    return WELCH_MARK if test.startswith("Welch") else EXACT_MARK if test.startswith("exact") else ""


def reference_rows(comparison: pd.DataFrame, wide: bool = False) -> pd.DataFrame:
    """Published against measured, one row per published value: its group, both numbers, the difference and
    the answer with the check's half-width; `wide` (and the markdown file) adds the interval the published value
    must lie in to agree, which the measured value and the half-width already give (but where [0, 1] clips it)."""
    if comparison.empty:
        return pd.DataFrame()
    shown = pd.DataFrame(index=comparison.index)
    shown["group"] = [
        f"{block}: {label}"
        if isinstance(block, str) and block
        else label
        if isinstance(label, str)
        else f"no run: {match}"
        for block, label, match in zip(comparison["block_label"], comparison["label"], comparison["match"])
    ]
    shown["published"] = [
        f"{value:.4f}" if spread is None or math.isnan(spread) else f"{value:.4f} ± {spread:.4f}"
        for value, spread in zip(comparison["published"], comparison["published_spread"].astype(float))
    ]
    shown["measured"] = [_number(value, ".4f") for value in comparison["measured"]]
    shown["n"] = comparison["n"].astype(str)
    if wide:
        shown["agrees within"] = [
            _interval(low, high) for low, high in zip(comparison["agree_low"], comparison["agree_high"])
        ]
    shown["difference"] = [_number(value, "+.4f") for value in comparison["difference"]]
    # The check's width beside the answer: "yes" means consistent with, within so much, not equal to.
    shown["agrees"] = [
        "-" if agrees is None else f"{'yes' if agrees else 'no'} (±{half:.4f})"
        for agrees, half in zip(comparison["agrees"], comparison["agree_half_width"])
    ]
    return shown.reset_index(drop=True)
