"""Turn an ExperimentReport into text: rich tables on a terminal, stable ASCII otherwise, or markdown/csv/json.

One helper, `draw_table`, draws every terminal table; the rest only builds DataFrames of strings.
"""

from __future__ import annotations

import json
import math
import sys

import pandas as pd
from rich import box
from rich.console import Console
from rich.table import Table

from actbench.errors import ActbenchError
from actbench.report import ExperimentReport
from actbench.report.aggregate import mean_std

SUMMARY_COLUMNS = {
    "rank": "rank",
    "dataset": "dataset",
    "source": "source",
    "model": "model",
    "hidden_activation": "hidden",
    "output_activation": "output",
    "n": "n",
    "accuracy": "test acc (mean ± std)",
    "ci95": "95% CI",
    "p_vs_best": "p vs best (Welch)",
    "vs_best": "vs best",
    "loss_mean": "test loss",
    "best_val_acc_mean": "best val acc",
    "best_epoch_mean": "best epoch",
    "seconds_per_epoch_mean": "s/epoch",
    "train_seconds_mean": "train s",
}


# Tables beside the accuracy table: each shows the metrics (mean ± std over seeds) the runs recorded.
OUTPUT_METRICS = {
    "keras_accuracy": "Keras 'accuracy'",
    "log_loss": "log loss",
    "macro_f1": "macro F1",
    "min_class_recall": "worst-class recall",
    "ece": "ECE",
    "confidence_correct": "confidence right",
    "confidence_wrong": "confidence wrong",
}
POSITIVE_CLASS_METRICS = {
    "recall": "recall@0.5",
    "f1": "F1@0.5",
    "recall_tuned": "recall@tuned",
    "f1_tuned": "F1@tuned",
    "roc_auc": "ROC-AUC",
    "pr_auc": "PR-AUC",
}
DIAGNOSTIC_METRICS = {
    "dead_fraction_max": "dead units, worst layer",
    "saturated_fraction_max": "saturated, worst layer",
    "grad_ratio_initial": "grad norm first/last, at init",
    "grad_ratio_first_last": "grad norm first/last, at end",
    "diagnostics_seconds": "diagnostics s",
}


def metric_rows(report: ExperimentReport, metrics: dict[str, str]) -> pd.DataFrame:
    """Groups as rows, the given metrics as 'mean ± std' columns; empty when no run recorded any."""
    summary = report.aggregated.summary
    present = [m for m in metrics if f"{m}_mean" in summary]
    if summary.empty or not present:
        return pd.DataFrame()
    rows = summary.dropna(subset=[f"{m}_mean" for m in present], how="all")
    shown = rows[["dataset", "model", "hidden_activation", "output_activation", "n"]].astype(str).rename(
        columns={"hidden_activation": "hidden", "output_activation": "output"}
    )
    if _has_binary_task(rows):
        shown.insert(1, "task", rows["task"])
    for metric in present:
        digits = ".3g" if metric.startswith("grad_ratio") else ".4f"
        shown[metrics[metric]] = [mean_std(m, s, digits) for m, s in zip(rows[f"{metric}_mean"], rows[f"{metric}_std"])]
    return shown.reset_index(drop=True)


def summary_rows(report: ExperimentReport, sort_by: str | None = None) -> pd.DataFrame:
    """The summary as display strings, in rank order within each block (or by `sort_by`)."""
    summary = report.aggregated.summary
    if summary.empty:
        return pd.DataFrame(columns=list(SUMMARY_COLUMNS.values()))
    if sort_by:
        key = {label: column for column, label in SUMMARY_COLUMNS.items()}.get(sort_by, sort_by)
        key = {"accuracy": "acc_mean", "ci95": "acc_ci_low"}.get(key, key)
        if key not in summary.columns:
            raise ActbenchError(f"--sort-by {sort_by!r}: not a column; use one of {', '.join(c for c in SUMMARY_COLUMNS if c in summary.columns or c in ('accuracy', 'ci95'))}")
        summary = summary.sort_values(key, ascending=key not in ("acc_mean", "acc_ci_low", "best_val_acc_mean"), kind="stable")
    shown = pd.DataFrame(
        {
            "rank": summary["rank"].astype(int).astype(str),
            "dataset": summary["dataset"],
            "source": summary["source"],
            "model": summary["model"],
            "hidden_activation": summary["hidden_activation"],
            "output_activation": summary["output_activation"],
            "n": summary["n"].astype(str),
            "accuracy": [mean_std(m, s) for m, s in zip(summary["acc_mean"], summary["acc_std"])],
            "ci95": [_interval(lo, hi) for lo, hi in zip(summary["acc_ci_low"], summary["acc_ci_high"])],
            "p_vs_best": [_p(p) for p in summary["p_vs_best"]],
            "vs_best": summary["vs_best"],
            "loss_mean": summary["loss_mean"].map("{:.4f}".format),
            "best_val_acc_mean": summary["best_val_acc_mean"].map("{:.4f}".format),
            "best_epoch_mean": summary["best_epoch_mean"].map("{:.1f}".format),
            "seconds_per_epoch_mean": summary["seconds_per_epoch_mean"].map("{:.2f}".format),
            "train_seconds_mean": summary["train_seconds_mean"].map("{:.1f}".format),
        }
    )
    if _has_binary_task(summary):
        shown.insert(2, "task", summary["task"])
    return shown.rename(columns=SUMMARY_COLUMNS).reset_index(drop=True)


def _has_binary_task(frame: pd.DataFrame) -> bool:
    return "task" in frame and bool((frame["task"] != "multiclass").any())


def problem_rows(report: ExperimentReport) -> pd.DataFrame:
    problems = report.aggregated.problems
    if problems.empty:
        return pd.DataFrame()
    columns = [c for c in ("run_id", "status", "dataset", "model", "hidden_activation", "output_activation", "seed", "epochs_run", "error") if c in problems.columns]
    return problems[columns].fillna("").astype(str)


def _interval(low: float, high: float) -> str:
    return "-" if math.isnan(low) else f"[{low:.4f}, {high:.4f}]"


def _p(value: float) -> str:
    if value is None or math.isnan(value):
        return "-"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def headline(report: ExperimentReport) -> list[str]:
    """Plain sentences: counts, what is missing, and each block's winner."""
    runs = report.runs
    counts = runs["status"].value_counts().to_dict() if not runs.empty else {}
    lines = [
        f"{report.name}: {len(runs)} runs ({', '.join(f'{v} {k}' for k, v in sorted(counts.items())) or 'none complete'})"
        + (f"; {report.missing} planned runs missing (sweep in progress or interrupted)" if report.missing else "")
    ]
    if "source" in runs and (runs["source"] == "sample").any():
        lines.append("note: some runs used the embedded data sample, not the full dataset (column 'source')")
    summary = report.aggregated.summary
    if not summary.empty:
        for _, best in summary[summary["rank"] == 1].iterrows():
            lines.append(
                f"best on {best['dataset']} / {best['model']}: {best['hidden_activation']} -> {best['output_activation']} "
                f"at {mean_std(best['acc_mean'], best['acc_std'])} test accuracy (n={best['n']})"
            )
        lines += _keras_accuracy_notes(summary)
    return lines + report.notes


def _keras_accuracy_notes(summary: pd.DataFrame) -> list[str]:
    """Say where Keras' plain metrics=["accuracy"] would have reported a different number."""
    if "keras_accuracy_mean" not in summary:
        return []
    notes = []
    for row in summary.itertuples():
        gap = row.keras_accuracy_mean - row.acc_mean
        if abs(gap) > 5e-7:
            notes.append(
                f"Keras' plain 'accuracy' misjudges {row.hidden_activation} -> {row.output_activation}: "
                f"{row.keras_accuracy_mean:.4f} instead of {row.acc_mean:.4f} ({gap:+.4f}); it rounds that output at 0.5"
            )
    return notes


def draw_table(console: Console, title: str, frame: pd.DataFrame) -> None:
    """Every terminal table: rich boxes on a terminal, ASCII borders (stable for logs and tests) otherwise."""
    table = Table(title=title, box=box.SIMPLE_HEAVY if console.is_terminal else box.ASCII, title_justify="left")
    for column in frame.columns:
        table.add_column(str(column), overflow="fold")
    for row in frame.itertuples(index=False):
        table.add_row(*map(str, row))
    console.print(table)


def pivot_frame(report: ExperimentReport) -> pd.DataFrame:
    return report.pivot.reset_index().rename(columns={"activation": "activation (hidden -> output)"}) if not report.pivot.empty else pd.DataFrame()


def render(report: ExperimentReport, fmt: str, sort_by: str | None, console: Console | None = None) -> str | None:
    """Print (fmt 'table') or return the text of one experiment's report in `fmt`."""
    summary = summary_rows(report, sort_by)
    problems = problem_rows(report)
    if fmt == "table":
        console = console or Console(width=None if sys.stdout.isatty() else 250, highlight=False)
        for line in headline(report):
            console.print(line, markup=False)
        if not summary.empty:
            draw_table(console, f"{report.name}: test accuracy over seeds, ranked within dataset/model", summary)
            draw_table(console, "accuracy by activation (mean ± std over seeds)", pivot_frame(report))
        for title, frame in extra_tables(report):
            draw_table(console, title, frame)
        if not problems.empty:
            draw_table(console, "diverged or failed runs (not averaged in)", problems)
        return None
    if fmt == "markdown":
        return markdown(report, summary)
    if fmt == "csv":
        return report.aggregated.summary.to_csv(index=False)
    if fmt == "json":
        return json.dumps(
            {
                "experiment": report.name,
                "missing_runs": report.missing,
                "groups": json.loads(report.aggregated.summary.to_json(orient="records")),
                "problems": json.loads(problems.to_json(orient="records")) if not problems.empty else [],
            },
            indent=2,
        )
    raise ValueError(fmt)


def extra_tables(report: ExperimentReport) -> list[tuple[str, pd.DataFrame]]:
    tables = [
        ("beyond accuracy: test-set metrics (mean ± std over seeds)", metric_rows(report, OUTPUT_METRICS)),
        ("binary task, positive class: at threshold 0.5 and at the F1-best threshold found on validation",
         metric_rows(report, POSITIVE_CLASS_METRICS)),
        ("inside the network: diagnostics after the last epoch (mean ± std over seeds)", metric_rows(report, DIAGNOSTIC_METRICS)),
    ]
    return [(title, frame) for title, frame in tables if not frame.empty]


def markdown_table(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "_none_\n"
    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    body = ["| " + " | ".join(str(v).replace("|", "\\|") for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body]) + "\n"


def markdown(report: ExperimentReport, summary: pd.DataFrame) -> str:
    parts = [f"# {report.name}\n", *(f"- {line}" for line in headline(report)), ""]
    parts += ["## Test accuracy over seeds\n", markdown_table(summary)]
    parts += ["## Accuracy by activation\n", markdown_table(pivot_frame(report))]
    for title, frame in extra_tables(report):
        parts += [f"## {title[0].upper()}{title[1:]}\n", markdown_table(frame)]
    problems = problem_rows(report)
    if not problems.empty:
        parts += ["## Diverged or failed runs (not averaged in)\n", markdown_table(problems)]
    return "\n".join(parts)
