"""What `actbench run` does: load the config, then print the plan (a dry run) or run the sweep (plan,
skip finished runs, claim and dispatch the rest to an executor, hand every event to the sinks), say
how it went and export what finished.

run_sweep talks only to sinks: the files sink (the only writer of results/, each record written
atomically as it arrives, so a kill at any moment loses nothing that finished), the console sink and
any others. launch is the command's side: it prints through the Terminal. Errors are ActbenchError
(the CLI turns them into exit 2); KeyboardInterrupt (SIGTERM included) passes through after the
export, and the CLI turns it into exit 130 (143 for SIGTERM).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from actbench import packing, results
from actbench.config import ExperimentConfig, Override, load_config
from actbench.config.load import MAPPING_ORIGIN
from actbench.errors import ActbenchError
from actbench.results import RunStatus
from actbench.terminal import Terminal

if TYPE_CHECKING:  # executors, sinks and the display are imported only when a sweep starts
    from actbench.claims import Claims
    from actbench.datasets.cache import DataRequest
    from actbench.executors import Executor, Job, Pack
    from actbench.plan import PlannedRun
    from actbench.sinks import Sink
    from actbench.sinks.files import FilesSink


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


@dataclass
class SweepSummary:
    exp_dir: Path
    results_csv: Path | None = None
    counts: dict[str, int] = field(
        default_factory=lambda: {**{status.value: 0 for status in RunStatus}, "skipped": 0, "elsewhere": 0}
    )

    def describe(self) -> str:
        """The last line of a sweep; the folder absolute, as results/ is relative to where actbench ran."""
        counts = self.counts
        return (
            f"{counts[RunStatus.FINISHED]} finished, {counts[RunStatus.DIVERGED]} diverged, {counts[RunStatus.FAILED]} failed, "
            f"{counts['skipped']} already done"
            + (f", {counts['elsewhere']} left to another actbench" if counts["elsewhere"] else "")
            + f"; results in {self.exp_dir.absolute()}"
        )


def launch(
    config_path: Path | dict[str, Any], overrides: Sequence[Override], options: RunOptions, terminal: Terminal
) -> SweepSummary | None:
    """Run (or with dry_run, plan) the experiment (a YAML file or a mapping); the sweep's summary, or None
    for a dry run."""
    config = load_config(config_path, overrides)
    if config.reference is not None:  # each published value names one group of the grid: checked before a dry run too
        from actbench import reference  # pandas and scipy: seconds that a config error should not wait for

        reference.check_grid(config, str(config_path) if isinstance(config_path, Path) else MAPPING_ORIGIN)
    _check_executor_options(options)  # a dry run refuses what the real run would refuse
    exp_dir = results.experiment_dir(options.results_dir, config.name)
    try:
        if options.dry_run:
            from actbench.plan import plan_lines, plan_runs

            planned, notes = plan_runs(config, options.results_dir, options.data_dir, mirror=options.mirror)
            for note in notes:
                terminal.note(note)
            for line in plan_lines(planned, options.results_dir, options.pack, _parallelism(options)):
                terminal.output(line)
            return None
        summary = _sweep_from_options(config, options, terminal)
    except KeyboardInterrupt:
        if not options.dry_run:  # a dry run changes nothing, an export included
            _export(options, exp_dir, terminal)
        raise
    if terminal.quiet:
        if summary.counts[RunStatus.FAILED]:  # quiet, not silent: each failed run had its line on stderr
            terminal.failure(summary.describe())
    else:
        terminal.info(summary.describe())
    _export(options, exp_dir, terminal)
    return summary


def _check_executor_options(options: RunOptions) -> None:
    from actbench.executors import resources

    if options.workers is not None and options.ray is not None:
        raise ActbenchError("--workers and --ray: choose one (on Ray, every CPU of the cluster is a worker)")
    resources.worker_count(options.workers)  # refuses anything but a number from 1 to the cores, or 'auto'
    packing.check_option(options.pack)
    if options.export_to:  # a missing extra is found now, not after hours of training
        from actbench.export import require

        for tool in options.export_to:
            require(tool)


def _parallelism(options: RunOptions) -> int:
    """How many packs train at once, as far as a dry run can know (a Ray cluster's size is not asked)."""
    from actbench.executors import resources

    return 1 if options.ray is not None else resources.worker_count(options.workers)


def _sweep_from_options(config: ExperimentConfig, options: RunOptions, terminal: Terminal) -> SweepSummary:
    from actbench.datasets.cache import data_request
    from actbench.executors import pick_executor
    from actbench.sinks.console import ConsoleSink

    request = data_request(config, options.data_dir, options.mirror)
    executor = pick_executor(options.workers, options.ray, request, options.retries)
    return run_sweep(
        config,
        options.results_dir,
        data_dir=options.data_dir,
        mirror=options.mirror,
        force=options.force,
        executor=executor,
        sinks=[ConsoleSink(terminal)],
        pack=options.pack,
    )


def _export(options: RunOptions, exp_dir: Path, terminal: Terminal) -> None:
    if options.export_to:
        from actbench.export.console import export_after_run

        export_after_run(options.export_to, exp_dir, terminal)


def run_sweep(
    config: ExperimentConfig,
    results_root: Path,
    *,
    data_dir: Path | None = None,
    mirror: str | None = None,
    force: bool = False,
    executor: Executor | None = None,
    sinks: Sequence[Sink] = (),
    pack: str = "off",
) -> SweepSummary:
    """Plan, skip what is done, hand the rest to the executor, and every event to the files sink, then
    to `sinks` (the console among them), in that order. `pack`: off, auto or a largest pack size
    (actbench.packing)."""
    from actbench.datasets.cache import data_request
    from actbench.executors import Serial

    results.ensure_writable(results_root)
    request = data_request(config, data_dir, mirror)
    executor = executor or Serial(request)
    executor.start()  # worker processes import TensorFlow while this process plans
    try:
        return _sweep(config, results_root, data_dir, force, executor, request, sinks, pack)
    finally:
        executor.stop()


def _sweep(
    config: ExperimentConfig,
    results_root: Path,
    data_dir: Path | None,
    force: bool,
    executor: Executor,
    request: DataRequest,
    sinks: Sequence[Sink],
    pack: str,
) -> SweepSummary:
    from actbench.claims import Claims
    from actbench.costs import estimate_sweep
    from actbench.datasets.cache import cache_for
    from actbench.executors import Job
    from actbench.plan import plan_runs
    from actbench.sinks import SweepStart
    from actbench.sinks.files import FilesSink

    planned, notes = plan_runs(config, results_root, data_dir, cache_for(request))
    exp_dir = results.experiment_dir(results_root, config.name)
    # In the order they are handed out: the runs of a pack together (the display's estimates follow it).
    planned_packs = packing.plan_packs([p for p in planned if force or not p.done], pack, executor.parallelism)
    pending = [run for runs in planned_packs for run in runs]
    if not pending:  # nothing to train: how its data was found (a download that failed) does not matter
        notes = [note for note in notes if note == results.stale_note(exp_dir)]
    summary = SweepSummary(exp_dir)
    summary.counts["skipped"] = len(planned) - len(pending)
    estimate = estimate_sweep([[p.spec for p in runs] for runs in planned_packs], results_root, executor.parallelism)
    files = FilesSink(exp_dir)
    every = [files, *sinks]
    for sink in every:
        sink.opened(
            SweepStart(
                exp_dir,
                config,
                [p.run_id for p in planned],
                [e.seconds for e in estimate.runs],
                executor.parallelism,
                [len(runs) for runs in planned_packs],
            )
        )
    for note in notes:
        _broadcast_warning(every, note)
    try:
        with Claims(exp_dir) as claims:
            jobs = {p.run_id: Job(p.spec, p.run_id, p.title) for p in pending}
            claimed = _claimed_packs(planned_packs, jobs, exp_dir, claims, force, summary, every)
            for record in executor.run(claimed, _Broadcast(every)):
                for sink in every:
                    sink.finished(jobs[record.run_id], record)
                claims.release(record.run_id)
                summary.counts[record.status] += 1
    except BaseException:
        # Ctrl-C, a full disk, a data problem: results.csv still shows every run completed so far,
        # if it can be written; the error that stopped the sweep is the one the user sees.
        _close(files, list(sinks), shown=notes, sweep_failed=True)
        raise
    _close(files, list(sinks), shown=notes, sweep_failed=False)
    summary.results_csv = files.results_csv
    return summary


def _claimed_packs(
    planned: list[list[PlannedRun]],
    jobs: dict[str, Job],
    exp_dir: Path,
    claims: Claims,
    force: bool,
    summary: SweepSummary,
    sinks: list[Sink],
) -> Iterator[Pack]:
    """The packs to train, every run of each claimed just before the pack is handed out; a run another
    process holds, or that finished meanwhile, is left out of its pack."""
    from actbench.executors import Pack

    for runs in planned:
        claimed = []
        for run in runs:
            job = jobs[run.run_id]
            if not claims.take(run.run_id):
                summary.counts["elsewhere"] += 1
                for sink in sinks:
                    sink.left(job, f"being trained by {claims.holder(run.run_id)}; left to it")
                continue
            if not force and results.is_done(exp_dir, run.run_id):
                claims.release(run.run_id)  # another invocation finished it after this one planned
                summary.counts["skipped"] += 1
                for sink in sinks:
                    sink.left(job, None)
                continue
            claimed.append(job)
        if claimed:
            yield Pack(tuple(claimed))


class _Broadcast:
    """The executor's events, passed on to every sink."""

    def __init__(self, sinks: list[Sink]) -> None:
        self.sinks = sinks

    def started(self, job: Job) -> None:
        for sink in self.sinks:
            sink.started(job)

    def epoch(self, job: Job, epoch: int, row: dict[str, float]) -> None:
        for sink in self.sinks:
            sink.epoch(job, epoch, row)

    def retrying(self, job: Job, why: str) -> None:
        for sink in self.sinks:
            sink.retrying(job, why)


def _broadcast_warning(sinks: Sequence[Sink], message: str) -> None:
    for sink in sinks:
        sink.warned(message)


def _close(files: FilesSink, others: list[Sink], shown: list[str], sweep_failed: bool) -> None:
    """Close the files sink first, so that what results.csv left out is said while the others are open,
    then the rest, the last opened first. A sink that cannot close is an error once all are closed,
    or only a warning when the sweep has already failed: then the sweep's own error is the one the user sees."""
    error = None
    open_sinks = [files, *reversed(others)]
    while open_sinks:
        sink = open_sinks.pop(0)
        try:
            sink.closed()
        except ActbenchError as exc:
            if sweep_failed:
                _broadcast_warning(open_sinks, str(exc))
            else:
                error = error or exc
        if sink is files:
            for note in files.skipped:
                if note not in shown:  # e.g. the stale runs, already said when the sweep was planned
                    _broadcast_warning(open_sinks, note)
    if error is not None:
        raise error
