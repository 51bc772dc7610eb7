"""The plan of a sweep: its grid with each run's recorded status, the data sources resolved, and its printout.

Planning reads (a dataset of your own, to know its digest and class count) but never writes, so a
dry run leaves results/ as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import typer

from actbench import results
from actbench.config import ExperimentConfig, OwnData, RunSpec, expand_runs, output_problem, run_id
from actbench.costs import describe_estimates, estimate_runs, format_seconds
from actbench.datasets import fallback_fix, resolve_source
from actbench.datasets.cache import DataCache, cache_for, data_request
from actbench.errors import ActbenchError
from actbench.naming import run_title


@dataclass
class PlannedRun:
    spec: RunSpec
    run_id: str
    status: results.RunStatus | None  # recorded status, None when it never completed

    @property
    def done(self) -> bool:
        return self.status is not None and self.status.is_done()

    @property
    def title(self) -> str:
        return run_title(self.spec)


def plan_runs(
    config: ExperimentConfig, results_root: Path, data_dir: Path | None, cache: DataCache | None = None
) -> tuple[list[PlannedRun], list[str]]:
    """The expanded grid with each run's recorded status, and notes on how sources were resolved.

    Without a cache (dry run) nothing is loaded or downloaded: `auto` is decided from local files.
    With one, `auto` without local data tries the download first, as the real run will.
    """
    resolved, notes = {}, []
    own = own_data(config, cache or cache_for(data_request(config, data_dir)))
    for name in (name for name in config.dataset_names if name not in own):
        requested = config.data.source
        resolved[name] = resolve_source(name, requested, data_dir)
        if requested == "auto" and resolved[name] == "sample":
            if cache is None:
                notes.append(
                    f"{name}: full data not found locally; a real run tries to download it, else uses the sample. {fallback_fix(name)}"
                )
            else:
                raw = cache.load(name)
                resolved[name] = raw.source
                if raw.warning:
                    notes.append(raw.warning)
    exp_dir = results.experiment_dir(results_root, config.name)
    notes += filter(None, [results.stale_note(exp_dir)])
    planned = []
    for spec in expand_runs(config, resolved, own):
        identifier = run_id(spec)
        planned.append(PlannedRun(spec, identifier, results.run_status(exp_dir, identifier)))
    return planned, notes


def own_data(config: ExperimentConfig, cache: DataCache) -> dict[str, OwnData]:
    """Read each dataset of your own once (even for a dry run: its digest is part of every run id)
    and check the task and output layers against its class count, as the config does for the built-in ones."""
    facts = {}
    for name, entry in config.own_datasets.items():
        raw = cache.load(name)
        classes = len(raw.class_names)
        problems = [config.task.problem(classes)] + [output_problem(config.task, output, classes) for output in config.output_activations]
        problem = next((p for p in problems if p), None)
        if problem:
            raise ActbenchError(f"{entry.location}: dataset '{name}' has {classes} classes: {problem}")
        facts[name] = OwnData(sha256=raw.content_sha256, image_shape=raw.image_shape, classes=classes, n_train=len(raw.y_train), n_test=len(raw.y_test))
    return facts


def print_plan(planned: list[PlannedRun], notes: list[str], results_dir: Path) -> None:
    """`actbench run --dry-run`: each run with its status or estimated cost, then the totals; notes to stderr."""
    for note in notes:
        typer.echo(f"note: {note}", err=True)
    estimates = estimate_runs([run.spec for run in planned], results_dir)
    for run, estimate in zip(planned, estimates):
        cost = "" if run.done else f"~{format_seconds(estimate.seconds)}"
        typer.echo(f"{run.run_id}  {run.status or 'todo':9}  {cost:>7}  {run.title}")
    done = sum(run.done for run in planned)
    exp_dir = results.experiment_dir(results_dir, planned[0].spec.experiment) if planned else results_dir
    typer.echo(f"{len(planned)} runs, {done} already done, {len(planned) - done} to run; results in {exp_dir}")
    todo = [estimate for run, estimate in zip(planned, estimates) if not run.done]
    if todo:
        typer.echo(describe_estimates(todo))
