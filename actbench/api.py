"""actbench from Python, the same in a script, under `python -`, in a notebook and behind the CLI:

    import actbench

    experiment = actbench.run("configs/relu_vs_sigmoid.yaml", overrides={"training.epochs": 1})
    runs = experiment.runs()                  # one row per run, typed columns (a DataFrame)
    report = experiment.report()              # its tables as DataFrames, computed once
    report.verdicts                           # which activation won, by how much, is it real
    actbench.open("results/relu_vs_sigmoid")  # the same object for a folder a sweep wrote
    actbench.plan("configs/fashion_mnist.yaml")  # the runs and packs a sweep would train, with estimates

Errors are ActbenchError with the one line the CLI would print; what the CLI prints as notes (a run
folder left out, data from the sample) comes as an ActbenchWarning. `workers=` starts worker processes
that never run the caller's script again, so a script needs no `if __name__ == "__main__":` guard.
Importing this module imports neither TensorFlow nor pandas; each function imports what it needs.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from actbench.config import Override, parse_set
from actbench.errors import ActbenchWarning

if TYPE_CHECKING:
    import pandas as pd

    from actbench.report import ExperimentReport

__all__ = ["Experiment", "ReportTables", "load_runs", "open", "plan", "report_tables", "run"]

ConfigSource = Path | str | Mapping[str, Any]  # a YAML file, or a mapping as the YAML would give
Overrides = Mapping[str, Any] | Sequence[str]  # {"training.epochs": 1}, or --set texts ["training.epochs=1"]


@dataclass(frozen=True)
class ReportTables:
    """The report's figures as DataFrames of numbers, one row per group unless said otherwise; groups
    keyed by `group_id` (blocks by `block_id`), as in results.csv and the exports.

    - verdicts: each group's label, verdict, rank, mean test accuracy with its interval, difference from
      its block's top and the test behind it ("which won, by how much, is it real");
    - metrics: each group's means (and spreads over seeds) of the other metrics;
    - runs: the runs in scope with their group's block and labels, one row per run;
    - problems: diverged and failed runs;
    - published: where a config cites a published result (its `reference:` block), one row per
      published value: the group it names, published and measured, the interval it must lie in, the
      difference and whether they agree (docs/report.md#published-vs-measured);
    - overall: where an experiment (or, with several, all of them: scope "all experiments") holds two or
      more blocks, one row per ranked activation: its average rank over the blocks, in how many it ranked
      first, its gap to the best, Nemenyi's p against it, its verdict, and the Friedman test's figures
      (docs/report.md#which-activation-is-best-overall);
    - tuning: a tuned experiment's choices, one row per candidate: what it chose, its validation score and
      spread over the tuning seeds, the runner-up, whether the choice sits at the edge of its list or
      could as well have been the runner-up (docs/report.md#tuned-experiments).
    """

    verdicts: pd.DataFrame
    metrics: pd.DataFrame
    runs: pd.DataFrame
    problems: pd.DataFrame
    published: pd.DataFrame
    overall: pd.DataFrame
    tuning: pd.DataFrame

    def as_dict(self) -> dict[str, pd.DataFrame]:
        return {item.name: getattr(self, item.name) for item in fields(self)}


@dataclass
class Experiment:
    """An experiment's folder (results/NAME), or a results folder holding several: its runs and its
    report, each read once. `counts`: how the run() that returned it went (finished, diverged, failed,
    skipped as already done, left to another actbench), None when opened."""

    folder: Path
    counts: Mapping[str, int] | None = None
    _runs: pd.DataFrame | None = field(default=None, repr=False)
    _reports: dict[tuple[tuple[str, ...], bool], ReportTables] = field(default_factory=dict, repr=False)

    @property
    def experiments(self) -> list[Path]:
        """The experiment folders it covers."""
        from actbench.report import find_experiments

        return find_experiments(self.folder)

    def runs(self) -> pd.DataFrame:
        """Every completed, current run, one row each, as results.csv holds them: settings typed by the
        settings catalogue (integers stay integers, missing as <NA>), metrics as numbers, and the usual
        columns even where no run has finished."""
        if self._runs is None:
            import pandas as pd

            from actbench import results

            frames = []
            for exp_dir in self.experiments:
                rows, skipped = results.collect_rows(exp_dir)
                _warn(skipped)
                frames.append(results.runs_frame(rows))
            filled = [frame for frame in frames if not frame.empty]
            self._runs = pd.concat(filled, ignore_index=True) if len(filled) > 1 else (filled or frames)[0]
        return self._runs.copy()

    def report(self, filters: Sequence[str] = (), all_runs: bool = False) -> ReportTables:
        """The report's tables as `actbench report` computes them: the latest plan's runs (every run with
        `all_runs`), narrowed by `filters` ("dataset=mnist"); an error when the filters match no run."""
        key = (tuple(filters), all_runs)
        if key not in self._reports:
            from actbench.report import build_reports

            reports = build_reports(self.folder, filters, all_runs)
            for built in reports:
                _warn(built.notes)
            self._reports[key] = _tables(reports)
        return self._reports[key]


def open(folder: Path | str) -> Experiment:
    """The experiment (or results) folder as an Experiment; an error when it holds no experiment."""
    experiment = Experiment(Path(folder))
    experiment.experiments  # noqa: B018 - checked now: a typo is an error here, not at the first table
    return experiment


def run(
    config: ConfigSource,
    *,
    overrides: Overrides = (),
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
) -> Experiment:
    """Run an experiment as `actbench run` does and return it (its runs, its report, and how the run went
    in `.counts`). `workers` (N or "auto") and `ray` (an address, "auto" or "local") pick where runs
    train as the CLI options do; `pack`: "auto", "off" or the most runs one pack trains together;
    `export_to`: "tensorboard", "mlflow". Quiet by default: no progress display and no closing line."""
    from actbench.sweep import launch
    from actbench.terminal import Terminal

    options = _options(
        workers=workers,
        ray=ray,
        pack=pack,
        export_to=export_to,
        retries=retries,
        quiet=quiet,
        force=force,
        results_dir=Path(results_dir),
        data_dir=None if data_dir is None else Path(data_dir),
        mirror=mirror,
    )
    summary = launch(_source(config), _overrides(overrides), options, Terminal(quiet))
    assert summary is not None  # only a dry run has none
    return Experiment(summary.exp_dir, dict(summary.counts))


def plan(
    config: ConfigSource,
    *,
    overrides: Overrides = (),
    results_dir: Path | str = "results",
    data_dir: Path | str | None = None,
    mirror: str | None = None,
    workers: int | str | None = None,
    ray: str | None = None,
    pack: int | str = "auto",
) -> pd.DataFrame:
    """The runs `run` would train, as `actbench run --dry-run` lists them, one row each: its id, status
    ("todo" or as recorded), the pack it trains in (1, 2, ...; <NA> when done), that pack's size, its
    estimated seconds there and what the estimate rests on, its parameters, its title, and its settings as
    results.csv's columns. Nothing is trained, loaded or written."""
    from actbench import results
    from actbench.config import load_config
    from actbench.planning import estimate_plan, plan_runs

    options = _options(workers=workers, ray=ray, pack=pack)
    loaded = load_config(_source(config), _overrides(overrides))
    planned, notes = plan_runs(loaded, Path(results_dir), None if data_dir is None else Path(data_dir), mirror=mirror)
    _warn(notes)
    packs, estimate = estimate_plan(planned, Path(results_dir), options.pack, options.parallelism)
    where = {
        id(run_): (number, len(runs), estimated)
        for number, (runs, estimates) in enumerate(zip(packs, estimate.packs), start=1)
        for run_, estimated in zip(runs, estimates)
    }
    rows = []
    for run_ in planned:
        number, size, estimated = where.get(id(run_), (None, None, None))
        rows.append(
            {
                **results.flatten_run({**run_.spec.as_json(), "run_id": run_.run_id}, {}),
                "status": run_.status.value if run_.status else "todo",
                "pack": number,
                "pack_size": size,
                "estimated_seconds": None if estimated is None else round(estimated.seconds, 1),
                "estimate_basis": None if estimated is None else estimated.basis,
                "params": run_.parameters,
                "title": run_.title,
            }
        )
    frame = results.runs_frame(rows)
    return frame.astype({"pack": "Int64", "pack_size": "Int64"})


def load_runs(target: Path | str) -> pd.DataFrame:
    """`open(target).runs()`."""
    return open(target).runs()


def report_tables(target: Path | str, filters: Sequence[str] = (), all_runs: bool = False) -> dict[str, pd.DataFrame]:
    """`open(target).report(filters, all_runs).as_dict()`: "verdicts", "metrics", "runs", "problems", "published",
    "overall", "tuning"."""
    return open(target).report(filters, all_runs).as_dict()


def _tables(reports: list[ExperimentReport]) -> ReportTables:
    import pandas as pd

    from actbench.reference import COLUMNS
    from actbench.report.formats import VERDICT_COLUMNS, summary_frame
    from actbench.report.ranks import TABLE_COLUMNS, overall_across
    from actbench.report.tuning import TABLE_COLUMNS as TUNING_COLUMNS

    overall = [r.overall.table() for r in reports if r.overall is not None]
    across = overall_across(reports)
    groups = summary_frame(reports)
    names = [c for c in ("experiment", "block", "block_label", "label", "group_id", "block_id") if c in groups]
    verdicts = [c for c in VERDICT_COLUMNS if c in groups]
    figures = [c for c in groups.columns if c.endswith(("_mean", "_std")) and c not in verdicts]
    cited = [r.comparison.assign(experiment=r.name) for r in reports if r.reference is not None]
    ranked = overall + ([across.table()] if across else [])
    tuned = [r.tuned.table().assign(experiment=r.name) for r in reports if r.tuned is not None]
    return ReportTables(
        verdicts=groups[names + verdicts],
        metrics=groups[names + ["n"] * ("n" in groups) + figures],
        runs=pd.concat([r.runs.assign(experiment=r.name) for r in reports], ignore_index=True),
        problems=pd.concat([r.aggregated.problems.assign(experiment=r.name) for r in reports], ignore_index=True),
        published=pd.concat(cited, ignore_index=True) if cited else pd.DataFrame(columns=["experiment", *COLUMNS]),
        overall=pd.concat(ranked, ignore_index=True) if ranked else pd.DataFrame(columns=TABLE_COLUMNS),
        tuning=pd.concat(tuned, ignore_index=True) if tuned else pd.DataFrame(columns=["experiment", *TUNING_COLUMNS]),
    )


def _options(**given: Any) -> Any:
    from actbench.sweep import run_options

    return run_options(lambda name: name, **given)


def _source(config: ConfigSource) -> Path | dict[str, Any]:
    return dict(config) if isinstance(config, Mapping) else Path(config)


def _overrides(overrides: Overrides) -> list[Override]:
    if isinstance(overrides, Mapping):
        return [Override.of(dotted, value, f"overrides[{dotted!r}]") for dotted, value in overrides.items()]
    return [parse_set(text) for text in overrides]


def _warn(notes: Sequence[str]) -> None:
    for note in notes:
        warnings.warn(note, ActbenchWarning, stacklevel=3)
