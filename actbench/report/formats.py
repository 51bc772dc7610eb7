"""One output for any number of experiments: terminal tables, markdown, one CSV (one header), one JSON document.

Machine formats keep types: counts and ranks are integers, lists (layer widths, positive
classes) are lists, activation parameters a mapping, missing values null.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
from rich.console import Console

from actbench import settings_catalogue
from actbench.reference import RULE, citation_line, more_seeds_line, reduced_data_line
from actbench.report import ExperimentReport
from actbench.report.headline import headline
from actbench.report.ranks import Overall, overall_lines, overall_rows, overall_title
from actbench.report.tables import (
    OPTIONAL_COLUMNS,
    block_tables,
    extra_tables,
    pivot_frame,
    problem_rows,
    reference_rows,
)
from actbench.report.terminal import WIDE, draw_metrics, draw_table
from actbench.report.tuning import single_value_rows, tuning_rows
from actbench.terminal import Terminal

# The report's own counts, and the settings and metrics that are whole numbers.
INT_COLUMNS = {
    "n",
    "runs",
    "not_finished",
    "rank",
    "pairs",
    "block",
    "epochs_run",
    "n_test",
    *settings_catalogue.of_type("int"),
}
JSON_COLUMNS = settings_catalogue.of_type("json")
# First after the labels in CSV and JSON: the answer, then how it was reached.
VERDICT_COLUMNS = [
    "verdict",
    "did_not_learn",
    "rank",
    "n",
    "acc_mean",
    "acc_std",
    "acc_ci_low",
    "acc_ci_high",
    "diff_vs_top",
    "diff_low",
    "diff_high",
    "effect_size",
    "p_holm",
    "p_value",
    "test",
    "p_floor",
    "pairs",
    "chance_level",
]

# Piped into a file or a log, the report's tables are laid out for 100 columns, as a reader's window shows
# them; the terminal's own PIPED_WIDTH (200) only keeps plain lines from being wrapped.
PIPED_REPORT_WIDTH = 100


def print_report(
    reports: list[ExperimentReport],
    fmt: str,
    terminal: Terminal,
    sort_by: str | None = None,
    wide: bool = False,
    across: Overall | None = None,
) -> None:
    """Write the reports to stdout in `fmt`: one document whatever their number; `across`, the overall section
    over all of them (ranks.overall_across), after them."""
    if fmt == "table":
        # A terminal is used at its width; --wide never narrows a table.
        width = WIDE if wide else (None if terminal.interactive else PIPED_REPORT_WIDTH)
        print_tables(reports, terminal.stdout_console(width, soft_wrap=wide), sort_by, wide, across)
    elif fmt == "markdown":
        parts = [markdown(r) for r in reports] + ([overall_markdown(across, level=1)] if across else [])
        terminal.document("\n\n".join(parts) + "\n")
    else:
        terminal.document(to_csv(reports) if fmt == "csv" else to_json(reports, across) + "\n")


def print_tables(
    reports: list[ExperimentReport],
    console: Console,
    sort_by: str | None = None,
    wide: bool = False,
    across: Overall | None = None,
) -> None:
    for number, report in enumerate(reports):
        if number:
            console.print()
        for line in headline(report):
            console.print(line, markup=False, highlight=False)
        if report.reference is not None:
            draw_table(
                console,
                f"published vs measured: {citation_line(report.reference)}",
                reference_rows(report.comparison, wide),
                # The difference is measured less published, both beside it: the first to go when narrow,
                # rather than a second table that repeats the citation for the verdict column.
                optional=[] if wide else ["difference"],
            )
            console.print(RULE, markup=False, highlight=False)
            for caveat in (more_seeds_line(report.comparison), reduced_data_line(report.runs, report.comparison)):
                if caveat:
                    console.print(caveat, markup=False, highlight=False)
        summary = report.aggregated.summary
        for title, frame in block_tables(summary, sort_by, wide):
            draw_table(console, title, frame, optional=[] if wide else OPTIONAL_COLUMNS, keep=2)
        if not report.pivot.empty:
            draw_table(
                console,
                "accuracy by activation, one column per block (mean ± std over seeds)",
                pivot_frame(report.pivot, summary),
            )
        if report.overall is not None:
            draw_overall(console, report.overall, wide)
        if report.tuned is not None:
            draw_table(console, TUNING_TITLE, tuning_rows(report.tuned), optional=[] if wide else ["block"], keep=2)
            draw_table(console, SINGLE_VALUE_TITLE, single_value_rows(report.tuned), keep=2)
        for title, frame in extra_tables(summary):
            draw_metrics(console, title, frame, keep=2)  # label and n, then the metrics that fit
        problems = problem_rows(report.aggregated.problems)
        if not problems.empty:
            draw_table(console, "diverged or failed runs (not averaged in)", problems, keep=2)
    if across is not None:
        console.print()
        draw_overall(console, across, wide)


TUNING_TITLE = "tuning: each candidate's choice on validation data, and the runner-up"
SINGLE_VALUE_TITLE = "at each single value of the tuned setting: what one shared setting would have ranked first"


def draw_overall(console: Console, overall: Overall, wide: bool = False) -> None:
    """The overall section: its table (the p-values go first when narrow), then its sentences."""
    rows = overall_rows(overall)
    if rows.empty:
        console.print(overall_title(overall), markup=False, highlight=False)
    else:
        draw_table(console, overall_title(overall), rows, optional=[] if wide else ["p (Nemenyi)", "best in"], keep=2)
    if wide and overall.verdicts is not None:
        draw_table(console, "rank in each block", block_rank_frame(overall), keep=1)
    for line in overall_lines(overall):
        console.print(line, markup=False, highlight=False)


def block_rank_frame(overall: Overall) -> pd.DataFrame:
    """Blocks as rows, the ranked activations as columns (by average rank), each cell the rank there."""
    ranks = overall.block_ranks()
    shown = ranks.map(lambda rank: f"{rank:g}")
    return shown.reset_index(names="block")


def overall_markdown(overall: Overall, level: int = 2) -> str:
    """The overall section as markdown: heading, sentences, its table and the rank in each block."""
    heading = "#" * level
    title = overall_title(overall)
    parts = [f"{heading} {title[0].upper()}{title[1:]}\n", *(f"- {line}" for line in overall_lines(overall)), ""]
    rows = overall_rows(overall)
    if not rows.empty:
        parts += [markdown_table(rows), f"{heading}# Rank in each block\n", markdown_table(block_rank_frame(overall))]
    return "\n".join(parts)


def markdown(report: ExperimentReport) -> str:
    summary = report.aggregated.summary
    parts = [f"# {report.name}\n", *(f"- {line}" for line in headline(report)), ""]
    if report.reference is not None:
        parts += [
            "## Published vs measured\n",
            f"{citation_line(report.reference)}\n",
            markdown_table(reference_rows(report.comparison, wide=True)),
            f"{RULE[0].upper()}{RULE[1:]}.\n",
            *(
                f"{caveat[0].upper()}{caveat[1:]}.\n"
                for caveat in [more_seeds_line(report.comparison), reduced_data_line(report.runs, report.comparison)]
                if caveat
            ),
            f"What this config cannot match: {report.reference.notes.strip()}\n",
        ]
    for title, frame in block_tables(summary, wide=True):
        parts += [_heading(title, summary), markdown_table(frame)]
    if not report.pivot.empty:
        parts += ["## Accuracy by activation\n", markdown_table(pivot_frame(report.pivot, summary))]
    if report.overall is not None:
        parts.append(overall_markdown(report.overall))
    if report.tuned is not None:
        parts += [f"## {TUNING_TITLE[0].upper()}{TUNING_TITLE[1:]}\n", markdown_table(tuning_rows(report.tuned))]
        parts += [
            f"## {SINGLE_VALUE_TITLE[0].upper()}{SINGLE_VALUE_TITLE[1:]}\n",
            markdown_table(single_value_rows(report.tuned)),
        ]
    for title, frame in extra_tables(summary):
        parts += [_heading(title, summary), markdown_table(frame)]
    problems = problem_rows(report.aggregated.problems)
    if not problems.empty:
        parts += ["## Diverged or failed runs (not averaged in)\n", markdown_table(problems)]
    return "\n".join(parts)


def _heading(title: str, summary: pd.DataFrame) -> str:
    """'## Test accuracy over seeds', but '## cnn 32-64: ...': a block's label is a name, written as everywhere else."""
    named = any(label and title.startswith(f"{label}: ") for label in summary["block_label"].unique())
    return f"## {title if named else title[0].upper() + title[1:]}\n"


def markdown_table(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "_none_\n"
    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    body = ["| " + " | ".join(str(v).replace("|", "\\|") for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body]) + "\n"


def summary_frame(reports: list[ExperimentReport]) -> pd.DataFrame:
    """Every group of every report, one row each, with the experiment's name first."""
    frames = [r.aggregated.summary.assign(experiment=r.name) for r in reports if not r.aggregated.summary.empty]
    if not frames:
        return pd.DataFrame(columns=["experiment"])
    table = pd.concat(frames, ignore_index=True)
    leading = ["experiment", "block", "block_label", "label", "group_id", "block_id", *VERDICT_COLUMNS]
    leading = [c for c in leading if c in table.columns]
    table = table[leading + [c for c in table.columns if c not in leading]]
    for column in INT_COLUMNS & set(table.columns):
        numbers = pd.to_numeric(table[column], errors="coerce")
        if (numbers.dropna() % 1 == 0).all():
            table[column] = numbers.astype("Int64")
    return table


def to_csv(reports: list[ExperimentReport]) -> str:
    return summary_frame(reports).to_csv(index=False)


def to_json(reports: list[ExperimentReport], across: Overall | None = None) -> str:
    groups = summary_frame(reports)
    document = {
        "experiments": [
            {
                "experiment": report.name,
                "scope": {
                    "latest_plan_only": not report.scope.all_runs,
                    "filters": report.scope.filters,
                    "planned": report.scope.planned,
                    "missing": report.scope.missing,
                    "other_runs_in_folder": report.scope.others,
                    "filtered_out": report.scope.filtered_out,
                },
                "notes": headline(report),
                "groups": _records(groups[groups["experiment"] == report.name].drop(columns="experiment")),
                "problems": _records(report.aggregated.problems.drop(columns=["traceback"], errors="ignore")),
                "reference": _reference(report),
                "overall": overall_json(report.overall),
                "tuning": None
                if report.tuned is None
                else {
                    "choices": _records(report.tuned.table()),
                    "single_values": _records(single_value_rows(report.tuned)),
                },
            }
            for report in reports
        ],
        "overall": overall_json(across),
    }
    return json.dumps(document, indent=2, allow_nan=False)


def overall_json(overall: Overall | None) -> dict | None:
    """The overall section in numbers: what is ranked, over which blocks, the table, each block's ranks."""
    if overall is None:
        return None
    ranks = overall.block_ranks()
    return {
        "ranked": overall.what,
        "blocks": overall.settings,
        "sentences": overall_lines(overall),
        "activations": _records(overall.table()),
        "block_ranks": [
            {"block": block, "ranks": {label: float(rank) for label, rank in row.items()}}
            for block, row in ranks.iterrows()
        ],
        "left_out": overall.left_out,
    }


def _reference(report: ExperimentReport) -> dict | None:
    """The cited result and published vs measured per value, as the table shows them, in numbers."""
    if report.reference is None:
        return None
    return {
        **report.reference.model_dump(mode="json", exclude={"published"}),
        "rule": RULE,
        "more_seeds": more_seeds_line(report.comparison),
        "not_a_reproduction": reduced_data_line(report.runs, report.comparison),
        "comparison": _records(report.comparison),
    }


def _records(frame: pd.DataFrame) -> list[dict]:
    return [
        {column: _plain(str(column), value) for column, value in row.items()} for row in frame.to_dict(orient="records")
    ]


def _plain(column: str, value: object) -> object:
    """A JSON value: None for missing, int for counts, lists and mappings decoded from their JSON text."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, np.floating)):
        value = value.item()
    if isinstance(value, float) and column in INT_COLUMNS and value.is_integer():
        return int(value)
    if isinstance(value, str) and column in JSON_COLUMNS and value[:1] in "[{":
        return json.loads(value)
    return value
