"""actbench as functions, for a notebook or a program: run a config, load an experiment's runs, build the
report's tables, each as the CLI does it (the CLI parses its arguments and calls the same code).

    from actbench import api

    summary = api.run("configs/relu_vs_sigmoid.yaml", overrides={"training.epochs": 1})
    runs = api.load_runs("results/relu_vs_sigmoid")          # one row per run, typed columns
    tables = api.report_tables("results/relu_vs_sigmoid")    # {"verdicts": ..., "metrics": ..., ...}

Errors are ActbenchError with the one line the CLI would print. Importing this module imports
neither TensorFlow nor pandas; each function imports what it needs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from actbench.config import Override, parse_set
from actbench.errors import ActbenchError

if TYPE_CHECKING:
    import pandas as pd

    from actbench.report import ExperimentReport
    from actbench.sweep import SweepSummary

__all__ = ["build_reports", "load_runs", "report_tables", "run"]


def run(
    config: Path | str | Mapping[str, Any],
    *,
    overrides: Mapping[str, Any] | Sequence[str] = (),
    results_dir: Path | str = "results",
    data_dir: Path | str | None = None,
    mirror: str | None = None,
    force: bool = False,
    workers: int | str | None = None,
    ray: str | None = None,
    retries: int = 2,
    pack: int | str = "auto",
    export_to: Sequence[str] = (),
    quiet: bool = True,
) -> SweepSummary:
    """Run an experiment as `actbench run` does and return its summary (counts by status, results.csv).

    `config`: a YAML file, or a mapping as the YAML would give. `overrides`: {"training.epochs": 1}, or
    `--set` texts ["training.epochs=1"]. `workers` (N or "auto") and `ray` (an address, "auto" or
    "local") pick the executor as the CLI options do; `pack`: "auto", "off" or the most runs one pack
    trains together, as --pack; `export_to`: "tensorboard", "mlflow". Quiet by
    default: no progress display and no closing line.
    """
    from actbench.sweep import RunOptions, launch
    from actbench.terminal import Terminal

    options = RunOptions(
        results_dir=Path(results_dir),
        data_dir=None if data_dir is None else Path(data_dir),
        mirror=mirror,
        force=force,
        quiet=quiet,
        workers=None if workers is None else str(workers),
        ray=ray,
        retries=retries,
        pack=str(pack),
        export_to=list(export_to),
    )
    source = dict(config) if isinstance(config, Mapping) else Path(config)
    summary = launch(source, _overrides(overrides), options, Terminal(quiet))
    assert summary is not None  # only a dry run has none
    return summary


def _overrides(overrides: Mapping[str, Any] | Sequence[str]) -> list[Override]:
    if isinstance(overrides, Mapping):
        return [Override.of(dotted, value, f"overrides[{dotted!r}]") for dotted, value in overrides.items()]
    return [parse_set(text) for text in overrides]


def load_runs(target: Path | str) -> pd.DataFrame:
    """Every completed, current run of an experiment folder (or of each experiment in a results folder), one
    row each, as results.csv holds them: settings typed by the settings catalogue (integers stay integers,
    missing as <NA>), metrics as numbers. Notes on folders left out are in `.attrs["notes"]`."""
    import pandas as pd

    from actbench import results
    from actbench.report import find_experiments

    frames, notes = [], []
    for exp_dir in find_experiments(Path(target)):
        rows, skipped = results.collect_rows(exp_dir)
        frames.append(results.runs_frame(rows))
        notes += skipped
    frames = [frame for frame in frames if not frame.empty]
    runs = (
        results.runs_frame([])
        if not frames
        else frames[0]
        if len(frames) == 1
        else pd.concat(frames, ignore_index=True)
    )
    runs.attrs["notes"] = notes
    return runs


def build_reports(target: Path | str, filters: Sequence[str] = (), all_runs: bool = False) -> list[ExperimentReport]:
    """The report of each experiment under `target` (an experiment folder or a results folder), as
    `actbench report` builds them: the latest plan's runs, or every run with `all_runs`, narrowed by
    `filters` ("dataset=mnist"); an error when the filters match no run anywhere."""
    from actbench.report import build_report, find_experiments
    from actbench.report.scope import no_match_message, parse_filters

    parse_filters(list(filters))
    reports = [build_report(exp_dir, list(filters), all_runs) for exp_dir in find_experiments(Path(target))]
    if filters and all(report.runs.empty for report in reports):
        raise ActbenchError(no_match_message(list(filters), [report.scope for report in reports], Path(target)))
    return reports


def report_tables(target: Path | str, filters: Sequence[str] = (), all_runs: bool = False) -> dict[str, pd.DataFrame]:
    """The report's figures as DataFrames of numbers, one row per group, every experiment under `target`:

    - "verdicts": each group's label, verdict, rank, mean test accuracy with its interval, difference from
      the block's top and the test behind it (the columns of `actbench report --format csv` that answer
      "which won, by how much, is it real");
    - "metrics": each group's means (and spreads over seeds) of the other metrics;
    - "runs": the runs in scope with their group's block and labels;
    - "problems": diverged and failed runs;
    - "published": where an experiment's config cites a published result (its `reference:` block), one row
      per published value: the group it names, published and measured, the interval it must lie in, the
      difference and whether they agree (docs/report.md#published-vs-measured);
    - "overall": where an experiment (or, with several, all of them: scope "all experiments") holds two or
      more blocks, one row per ranked activation: its average rank over the blocks, in how many it ranked
      first, its gap to the best, Nemenyi's p against it, its verdict, and the Friedman test's figures
      (docs/report.md#which-activation-is-best-overall).
    Groups are keyed by `group_id` (and blocks by `block_id`), as in results.csv and the exports.
    """
    import pandas as pd

    from actbench.reference import COLUMNS
    from actbench.report.formats import VERDICT_COLUMNS, summary_frame
    from actbench.report.ranks import TABLE_COLUMNS, overall_across

    reports = build_reports(target, filters, all_runs)
    overall = [r.overall.table() for r in reports if r.overall is not None]
    across = overall_across(reports)
    groups = summary_frame(reports)
    names = [c for c in ("experiment", "block", "block_label", "label", "group_id", "block_id") if c in groups]
    verdicts = [c for c in VERDICT_COLUMNS if c in groups]
    figures = [c for c in groups.columns if c.endswith(("_mean", "_std")) and c not in verdicts]
    return {
        "verdicts": groups[names + verdicts],
        "metrics": groups[names + ["n"] * ("n" in groups) + figures],
        "runs": pd.concat([r.runs.assign(experiment=r.name) for r in reports], ignore_index=True),
        "problems": pd.concat([r.aggregated.problems.assign(experiment=r.name) for r in reports], ignore_index=True),
        "published": pd.concat(
            [r.comparison.assign(experiment=r.name) for r in reports if r.reference is not None],
            ignore_index=True,
        )
        if any(r.reference is not None for r in reports)
        else pd.DataFrame(columns=["experiment", *COLUMNS]),
        "overall": pd.concat(overall + ([across.table()] if across else []), ignore_index=True)
        if overall or across
        else pd.DataFrame(columns=TABLE_COLUMNS),
    }
