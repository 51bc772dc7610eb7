"""What `actbench run` does once its arguments are parsed: load the config, then print the plan (a dry
run) or pick the executor and the console, run the sweep, say how it went and export what finished.

Errors are ActbenchError (the CLI turns them into exit 2); KeyboardInterrupt passes through after
the export, and the CLI turns it into exit 130.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import typer

from actbench import results
from actbench.config import ExperimentConfig, Override, load_config
from actbench.errors import ActbenchError
from actbench.results import RunStatus

if TYPE_CHECKING:  # the runner (executors, sinks, progress) is imported only when a sweep starts
    from actbench.runner import SweepSummary


@dataclass(frozen=True)
class RunOptions:
    """`actbench run`'s options beyond the config and its overrides (see `actbench run --help`)."""

    results_dir: Path = Path("results")
    data_dir: Path | None = None
    mirror: str | None = None
    dry_run: bool = False
    force: bool = False
    quiet: bool = False
    workers: str | None = None  # N or "auto"
    ray: str | None = None  # a Ray address, "auto" or "local"
    retries: int = 2
    pack: str = "auto"  # auto, off or the most runs one pack trains together (actbench.packing)
    export_to: list[str] = field(default_factory=list)


def launch(config_path: Path, overrides: Sequence[Override], options: RunOptions) -> SweepSummary | None:
    """Run (or with dry_run, plan) the experiment; the sweep's summary, or None for a dry run."""
    config = load_config(config_path, overrides)
    _check_executor_options(options)  # a dry run refuses what the real run would refuse
    exp_dir = results.experiment_dir(options.results_dir, config.name)
    try:
        if options.dry_run:
            from actbench.plan import plan_runs, print_plan

            from actbench.packing import print_packs

            planned, notes = plan_runs(config, options.results_dir, options.data_dir)
            print_packs(planned, options.pack, _parallelism(options), options.results_dir)
            print_plan(planned, notes, options.results_dir)
            return None
        summary = _sweep(config, options)
    except KeyboardInterrupt:
        _export(options, exp_dir)
        raise
    if not options.quiet:
        counts = summary.counts
        typer.echo(
            f"{counts[RunStatus.FINISHED]} finished, {counts[RunStatus.DIVERGED]} diverged, {counts[RunStatus.FAILED]} failed, "
            f"{counts['skipped']} already done"
            + (f", {counts['elsewhere']} left to another actbench" if counts["elsewhere"] else "")
            + f"; results: {summary.results_csv}"
        )
    _export(options, exp_dir)
    return summary


def _check_executor_options(options: RunOptions) -> None:
    from actbench.executors import resources

    if options.workers is not None and options.ray is not None:
        raise ActbenchError("--workers and --ray: choose one (on Ray, every CPU of the cluster is a worker)")
    resources.worker_count(options.workers)  # refuses anything but a number >= 1 or 'auto'
    from actbench.packing import check_option

    check_option(options.pack)


def _parallelism(options: RunOptions) -> int:
    """How many packs train at once, as far as a dry run can know (a Ray cluster's size is not asked)."""
    from actbench.executors import resources

    return 1 if options.ray is not None else resources.worker_count(options.workers)


def _sweep(config: ExperimentConfig, options: RunOptions) -> SweepSummary:
    from actbench import runner
    from actbench.datasets.cache import data_request
    from actbench.executors import pick_executor
    from actbench.native_logs import filter_native_stderr
    from actbench.progress import pick_reporter

    if options.export_to:  # a missing extra is found now, not after hours of training
        from actbench.export import require

        for tool in options.export_to:
            require(tool)
    request = data_request(config, options.data_dir, options.mirror)
    executor = pick_executor(options.workers, options.ray, request, options.retries)
    filter_native_stderr()
    return runner.run_experiment(
        config, options.results_dir, data_dir=options.data_dir, mirror=options.mirror, force=options.force,
        reporter=pick_reporter(options.quiet), executor=executor, pack=options.pack,
    )


def _export(options: RunOptions, exp_dir: Path) -> None:
    if options.export_to:
        from actbench.export.console import export_after_run

        export_after_run(options.export_to, exp_dir, options.quiet)
