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

import functools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from actbench import packing, resources, results, tuning
from actbench.claims import Claims
from actbench.config import ExperimentConfig, Override, expand_runs, load_config
from actbench.config.load import MAPPING_ORIGIN
from actbench.context import TrainingContext
from actbench.costs import estimate_sweep
from actbench.datasets.cache import data_request
from actbench.errors import ActbenchError, named
from actbench.executors import Executor, Job, Pack, pick_executor
from actbench.export import require
from actbench.export.console import export_after_run
from actbench.packing import PackSetting, pack_setting
from actbench.planning import Expand, PlannedRun, plan_lines, plan_runs
from actbench.results import RunStatus
from actbench.sinks import Sink, SweepStart
from actbench.sinks.console import ConsoleSink
from actbench.sinks.files import FilesSink
from actbench.terminal import Terminal
from actbench.tuning import Selection

ExecutorFactory = Callable[[TrainingContext], Executor]  # an executor for the sweep's context (tests, benchmarks)


@dataclass(frozen=True)
class RunOptions:
    """`actbench run`'s options beyond the config and its overrides, typed and checked (run_options)."""

    results_dir: Path = Path("results")
    data_dir: Path | None = None
    mirror: str | None = None
    dry_run: bool = False
    force: bool = False
    quiet: bool = False
    workers: int = 1  # worker processes on this machine; 1: this process
    ray: str | None = None  # a Ray address, "auto" or "local"
    retries: int = 2
    pack: PackSetting = "auto"
    export_to: tuple[str, ...] = ()

    @property
    def parallelism(self) -> int:
        """How many packs train at once, as far as a dry run can know (a Ray cluster's size is not asked)."""
        return 1 if self.ray is not None else self.workers


def run_options(
    option: Callable[[str], str],
    *,
    workers: str | int | None = None,
    ray: str | None = None,
    pack: str | int = "auto",
    export_to: Sequence[str] = (),
    retries: int = 2,
    **plain: Any,
) -> RunOptions:
    """The options as given on the command line or by a program, typed and checked once, before any work:
    an error names the option as the caller wrote it (`option("pack")`: '--pack' or 'pack')."""
    if workers is not None and ray is not None:
        raise ActbenchError(
            f"{option('workers')} and {option('ray')}: choose one (on Ray, every CPU of the cluster is a worker)"
        )
    if retries < 0:
        raise ActbenchError(f"{named(option('retries'), retries)}: give 0 or more tries")
    if export_to:  # a missing extra is found now, not after hours of training
        for tool in export_to:
            require(tool, option("export"))
    return RunOptions(
        workers=resources.worker_count(workers, option("workers")),
        ray=ray,
        pack=pack_setting(pack, option("pack")),
        export_to=tuple(export_to),
        retries=retries,
        **plain,
    )


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
    if options.dry_run:
        for line in _dry_run_lines(config, options, terminal):
            terminal.output(line)
        return None
    exp_dir = results.experiment_dir(options.results_dir, config.name)
    try:
        summary = run_sweep(
            config,
            options.results_dir,
            data_dir=options.data_dir,
            mirror=options.mirror,
            force=options.force,
            workers=options.workers,
            ray=options.ray,
            retries=options.retries,
            sinks=[ConsoleSink(terminal)],
            pack=options.pack,
        )
    except KeyboardInterrupt:
        _export(options, exp_dir, terminal)  # what finished is exported, also after Ctrl-C
        raise
    if terminal.quiet:
        if summary.counts[RunStatus.FAILED]:  # quiet, not silent: each failed run had its line on stderr
            terminal.failure(summary.describe())
    else:
        terminal.info(summary.describe())
    _export(options, exp_dir, terminal)
    return summary


def _dry_run_lines(config: ExperimentConfig, options: RunOptions, terminal: Terminal) -> list[str]:
    """The plan as `--dry-run` prints it (notes said through `terminal`); a tuned experiment's two stages,
    the second as 'after stage 1' until stage 1 has run, then as its choices make it."""
    plan = functools.partial(plan_runs, config, options.results_dir, options.data_dir, mirror=options.mirror)
    lines = functools.partial(
        plan_lines, results_dir=options.results_dir, pack=options.pack, parallelism=options.parallelism
    )
    if config.tune is None:
        planned, notes = plan()
        for note in notes:
            terminal.note(note)
        return lines(planned)
    planned, notes = plan(expand=tuning.stage_one)
    for note in notes:
        terminal.note(note)
    shown = ["stage 1 of 2, tuning (never tested):", *lines(planned)]
    candidates = len({tuning.candidate_key(run.spec, config) for run in planned})
    if not all(run.done for run in planned):
        seeds = ", ".join(map(str, config.seeds))
        return [
            *shown,
            f"stage 2 of 2, after stage 1: each of {candidates} candidates at its choice with seeds {seeds}: {candidates * len(config.seeds)} runs",
        ]
    exp_dir = results.experiment_dir(options.results_dir, config.name)
    selection = tuning.choose(config, [run.spec for run in planned], exp_dir)
    second, _ = plan(expand=functools.partial(tuning.stage_two, selection=selection))
    return [*shown, "stage 2 of 2, each candidate at its choice (tested and judged):", *lines(second)]


def _export(options: RunOptions, exp_dir: Path, terminal: Terminal) -> None:
    if options.export_to:
        export_after_run(list(options.export_to), exp_dir, terminal)


def run_sweep(
    config: ExperimentConfig,
    results_root: Path,
    *,
    data_dir: Path | None = None,
    mirror: str | None = None,
    force: bool = False,
    workers: int = 1,
    ray: str | None = None,
    retries: int = 2,
    executor: ExecutorFactory | None = None,
    sinks: Sequence[Sink] = (),
    pack: PackSetting = "off",
) -> SweepSummary:
    """Plan, skip what is done, hand the rest to an executor (`workers` processes, or Ray at `ray`, or
    what `executor` makes for the sweep's context), and every event to the files sink, then to `sinks`
    (the console among them), in that order. Everything the sweep keeps (data, trainers) lives in one
    TrainingContext, closed at its end."""
    results.ensure_writable(results_root)
    with TrainingContext(data_request(config, data_dir, mirror)) as context:
        chosen = executor(context) if executor else pick_executor(workers, ray, context, retries)
        chosen.start()  # worker processes import TensorFlow while this process plans
        try:
            if config.tune is not None:
                return _tuned_sweep(config, results_root, data_dir, force, chosen, context, sinks, pack)
            return _sweep(config, results_root, data_dir, force, chosen, context, sinks, pack, Stage())[0]
        finally:
            chosen.stop()


@dataclass(frozen=True)
class Stage:
    """What one pass of a sweep trains: a plain experiment's one pass, or a tuned one's two (tuning.py)."""

    expand: Expand = expand_runs  # its runs, from the config
    title: str = ""  # said when it opens, for a tuned experiment
    earlier: tuple[str, ...] = ()  # the run ids of the stage before, which the plan holds too
    selection: Selection | None = None  # the choices a second stage trains
    notes: tuple[str, ...] = ()  # warnings to say when it opens


def _tuned_sweep(
    config: ExperimentConfig,
    results_root: Path,
    data_dir: Path | None,
    force: bool,
    executor: Executor,
    context: TrainingContext,
    sinks: Sequence[Sink],
    pack: PackSetting,
) -> SweepSummary:
    """Stage 1 (the tuning runs), the choices made from their records, then stage 2 (the choices on the
    experiment's seeds). Stage 2 waits while another invocation still trains stage 1's runs."""
    tune = config.tune
    assert tune is not None
    seeds = ", ".join(map(str, config.tuning_seeds))
    title = (
        f"stage 1 of 2: {', '.join(tune.settings)} tuned on validation data ({tune.score}) with tuning seeds "
        f"{seeds}, never tested"
    )
    arguments = (config, results_root, data_dir, force, executor, context, sinks, pack)
    first, planned = _sweep(*arguments, Stage(tuning.stage_one, title))
    if first.counts["elsewhere"]:
        for sink in sinks:
            sink.warned(
                f"stage 2 waits: {first.counts['elsewhere']} tuning runs are being trained by another actbench; "
                "run the command again once it is done"
            )
        return first
    exp_dir = results.experiment_dir(results_root, config.name)
    selection = tuning.choose(config, [run.spec for run in planned], exp_dir)
    notes = [
        f"chosen again, stage 1 having changed: {change}"
        for change in tuning.changes(results.read_selection(exp_dir), selection)
    ]
    notes += [
        f"{choice.label}: no choice, every tuning run of it failed; left out of stage 2"
        for choice in selection.choices
        if choice.chosen is None
    ]
    second_title = (
        f"stage 2 of 2: each of {len(selection.choices)} candidates at its choice, on the experiment's seeds "
        f"{', '.join(map(str, config.seeds))}, tested and judged"
    )
    stage = Stage(
        functools.partial(tuning.stage_two, selection=selection),
        second_title,
        tuple(run.run_id for run in planned),
        selection,
        tuple(notes),
    )
    second, _ = _sweep(*arguments, stage)
    for key, count in second.counts.items():
        second.counts[key] = count + first.counts[key]
    return second


def _sweep(
    config: ExperimentConfig,
    results_root: Path,
    data_dir: Path | None,
    force: bool,
    executor: Executor,
    context: TrainingContext,
    sinks: Sequence[Sink],
    pack: PackSetting,
    stage: Stage,
) -> tuple[SweepSummary, list[PlannedRun]]:
    planned, notes = plan_runs(config, results_root, data_dir, context.data, expand=stage.expand)
    notes += stage.notes
    exp_dir = results.experiment_dir(results_root, config.name)
    # In the order they are handed out: the runs of a pack together (the display's estimates follow it).
    planned_packs = packing.plan_packs([p for p in planned if force or not p.done], pack, executor.parallelism)
    pending = [run for runs in planned_packs for run in runs]
    if not pending:  # nothing to train: how its data was found (a download that failed) does not matter
        notes = [note for note in notes if note == results.stale_note(exp_dir) or note in stage.notes]
    summary = SweepSummary(exp_dir)
    summary.counts["skipped"] = len(planned) - len(pending)
    estimate = estimate_sweep([[p.spec for p in runs] for runs in planned_packs], results_root, executor.parallelism)
    files = FilesSink(exp_dir)
    every = [files, *sinks]
    start = SweepStart(
        exp_dir,
        config,
        [*stage.earlier, *(p.run_id for p in planned)],
        [e.seconds for e in estimate.runs],
        executor.parallelism,
        [len(runs) for runs in planned_packs],
        stage.title,
        stage.selection,
    )
    for sink in every:
        sink.opened(start)
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
    return summary, planned


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
