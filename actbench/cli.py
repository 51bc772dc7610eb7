"""The command line: parse arguments, call the runner or the report, turn ActbenchError into exit code 2.

Exit codes: 0 every run finished or diverged; 1 some run failed; 2 bad usage, config or data;
130 interrupted.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer

# TensorFlow's C++ start-up chatter (CUDA probing, CPU feature notes) is noise in a CLI; set
# before anything imports TensorFlow. A user who wants it back sets the variable themselves.
# TensorFlow 2.21 ignores it for its earliest lines: `run` also filters them (native_logs.py).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from actbench.cli_base import FlagCommand, FlagGroup  # noqa: E402
from actbench.cli_base import fail as _fail  # noqa: E402
from actbench.cli_export import export_after_run, export_app  # noqa: E402
from actbench.errors import ActbenchError  # noqa: E402

app = typer.Typer(
    help="Compare activation functions on MNIST and Fashion-MNIST: run YAML experiments, report the results.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=FlagGroup,
)
app.add_typer(export_app, name="export")

ResultsDir = Annotated[Path, typer.Option("--results-dir", help="Where results/<experiment>/ folders live.")]


def _show_version(value: bool) -> None:
    if value:
        from actbench import __version__

        typer.echo(f"actbench {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Compare activation functions on MNIST and Fashion-MNIST: run YAML experiments, report the results."""


@app.command(cls=FlagCommand)
def run(
    config_path: Annotated[Path, typer.Argument(metavar="CONFIG", help="Experiment YAML, e.g. configs/relu_vs_sigmoid.yaml.")],
    set_: Annotated[
        Optional[list[str]],
        typer.Option(
            "--set", "-s", metavar="PATH=VALUE", help="Override a config value: dotted.path=value (YAML scalar). Repeatable."
        ),
    ] = None,
    epochs: Annotated[Optional[int], typer.Option(help="Shortcut for --set training.epochs=N.")] = None,
    batch_size: Annotated[Optional[int], typer.Option(help="Shortcut for --set training.batch_size=N.")] = None,
    seeds: Annotated[Optional[int], typer.Option(help="Shortcut for --set seeds=N (seeds 0..N-1).")] = None,
    limit_train: Annotated[Optional[int], typer.Option(help="Shortcut for --set data.limit_train=N.")] = None,
    limit_test: Annotated[Optional[int], typer.Option(help="Shortcut for --set data.limit_test=N.")] = None,
    source: Annotated[Optional[str], typer.Option(help="Shortcut for --set data.source=auto|full|sample.")] = None,
    deterministic: Annotated[bool, typer.Option("--deterministic", help="Also enable TensorFlow op determinism.")] = False,
    diagnostics: Annotated[
        bool, typer.Option("--diagnostics", help="Measure dead units, saturation and gradient norms per layer and epoch.")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List the runs, which are finished and what the rest will cost; train nothing.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Rerun runs that are already finished.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only warnings and errors.")] = False,
    results_dir: ResultsDir = Path("results"),
    data_dir: Annotated[
        Optional[Path], typer.Option(envvar="ACTBENCH_DATA_DIR", help="Folder searched first for the full datasets.")
    ] = None,
    mirror: Annotated[
        Optional[str], typer.Option(envvar="ACTBENCH_MIRROR", help="Base URL to download the datasets from instead of the default.")
    ] = None,
    workers: Annotated[
        Optional[str],
        typer.Option(
            metavar="N|auto",
            help="Train N runs at once in worker processes, each with its share of the cores (and a GPU where there are "
            "GPUs); auto: one per core, or two per GPU.",
        ),
    ] = None,
    ray: Annotated[
        Optional[str],
        typer.Option(
            metavar="ADDRESS",
            help="Train on a Ray cluster: its address (ray://host:10001 or host:6379), auto (the cluster this machine "
            "belongs to) or local (a private instance here). Needs pip install 'actbench[ray]'.",
        ),
    ] = None,
    retries: Annotated[
        int, typer.Option(min=0, help="Times a run is tried again when its worker process or node dies (not for errors in the run).")
    ] = 2,
    export_to: Annotated[
        Optional[list[str]],
        typer.Option(
            "--export",
            metavar="TOOL",
            help="tensorboard or mlflow: at the end, also after Ctrl-C, export the finished runs "
            "(to <results-dir>/tensorboard; MLFLOW_TRACKING_URI, else <results-dir>/mlflow.db). Repeatable.",
        ),
    ] = None,
) -> None:
    """Train and evaluate every run of an experiment; finished runs are skipped."""
    from actbench import runner
    from actbench.native_logs import filter_native_stderr
    from actbench.config import load_config, option_overrides, parse_set
    from actbench.datasets.cache import data_request
    from actbench.executors import pick_executor
    from actbench.progress import pick_reporter

    shortcuts = {
        "--epochs": ("training.epochs", epochs),
        "--batch-size": ("training.batch_size", batch_size),
        "--seeds": ("seeds", seeds),
        "--limit-train": ("data.limit_train", limit_train),
        "--limit-test": ("data.limit_test", limit_test),
        "--source": ("data.source", source),
        "--deterministic": ("deterministic", deterministic),
        "--diagnostics": ("diagnostics", diagnostics),
    }
    exp_dir = None  # known once the config loads: what --export sends after Ctrl-C
    try:
        overrides = [*map(parse_set, set_ or []), *option_overrides(shortcuts)]
        config = load_config(config_path, overrides)
        exp_dir = results_dir / config.name
        if dry_run:
            _print_plan(*runner.plan_runs(config, results_dir, data_dir), results_dir)
            return
        if export_to:  # a missing extra is found now, not after hours of training
            from actbench.export import require

            for tool in export_to:
                require(tool)
        if workers is not None and ray is not None:
            raise ActbenchError("--workers and --ray: choose one (on Ray, every CPU of the cluster is a worker)")
        request = data_request(config, data_dir, mirror)
        executor = pick_executor(workers, ray, request, retries)
        filter_native_stderr()
        summary = runner.run_experiment(
            config, results_dir, data_dir=data_dir, mirror=mirror, force=force, reporter=pick_reporter(quiet), executor=executor
        )
    except ActbenchError as exc:
        raise _fail(str(exc)) from None
    except KeyboardInterrupt:
        export_after_run(export_to, exp_dir, quiet)
        raise _fail("interrupted; completed runs are saved and the rest run when you repeat the command", 130) from None
    counts = summary.counts
    if not quiet:
        typer.echo(
            f"{counts['finished']} finished, {counts['diverged']} diverged, {counts['failed']} failed, "
            f"{counts['skipped']} already done"
            + (f", {counts['elsewhere']} left to another actbench" if counts["elsewhere"] else "")
            + f"; results: {summary.results_csv}"
        )
    export_after_run(export_to, exp_dir, quiet)
    if counts["failed"]:
        raise typer.Exit(code=1)


def _print_plan(planned: list, notes: list[str], results_dir: Path) -> None:
    from actbench.costs import describe_estimates, estimate_runs, format_seconds

    for note in notes:
        typer.echo(f"note: {note}", err=True)
    estimates = estimate_runs([run.spec for run in planned], results_dir)
    for run, estimate in zip(planned, estimates):
        cost = "" if run.done else f"~{format_seconds(estimate.seconds)}"
        typer.echo(f"{run.run_id}  {run.status or 'todo':9}  {cost:>7}  {run.title}")
    done = sum(run.done for run in planned)
    exp_dir = results_dir / planned[0].spec.experiment if planned else results_dir
    typer.echo(f"{len(planned)} runs, {done} already done, {len(planned) - done} to run; results in {exp_dir}")
    todo = [estimate for run, estimate in zip(planned, estimates) if not run.done]
    if todo:
        typer.echo(describe_estimates(todo))


@app.command(cls=FlagCommand)
def activations() -> None:
    """List the activation functions actbench knows, with their parameters and default initialisers."""
    import sys

    from rich.console import Console
    from rich.table import Table

    from actbench.activations import CATALOGUE, label

    # Formulas wrap inside their column on a narrow terminal; piped output keeps one line per activation.
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column("name (default parameters)", no_wrap=True)
    table.add_column("initialiser", no_wrap=True)
    table.add_column("formula")
    for info in CATALOGUE.values():
        aliases = f" (also: {', '.join(info.aliases)})" if info.aliases else ""
        table.add_row(label(info.name, info.defaults), info.initializer, info.summary + aliases)
    console.print(table, markup=False)
    console.print(
        "Write one as a name (relu), a label as printed above (leaky_relu(alpha=0.2)) or a mapping "
        "({name: leaky_relu, alpha: 0.2}); your own as 'package.module:function' (Glorot initialiser unless the model sets one).",
        markup=False,
    )


REPORT_FORMATS = ("table", "markdown", "csv", "json")


@app.command(cls=FlagCommand)
def report(
    target: Annotated[
        Path, typer.Argument(help="An experiment folder (results/NAME) or a results folder with several.")
    ] = Path("results"),
    fmt: Annotated[str, typer.Option("--format", "-f", help="table | markdown | csv | json")] = "table",
    sort_by: Annotated[
        Optional[str], typer.Option(help="Sort each table by: rank, accuracy, activation, n, difference, p, loss, 'train s', ...")
    ] = None,
    filter_: Annotated[
        Optional[list[str]], typer.Option("--filter", help="Keep runs whose column equals a value: dataset=mnist. Repeatable.")
    ] = None,
    all_runs: Annotated[
        bool, typer.Option("--all", help="Every run in the folder, not only those of the latest `actbench run`.")
    ] = False,
    wide: Annotated[bool, typer.Option("--wide", help="Every column, at any width (default: fit the terminal).")] = False,
    plots: Annotated[bool, typer.Option("--plots/--no-plots", help="Draw the PNG plots.")] = True,
    out: Annotated[
        Optional[Path], typer.Option("--out", help="Write this view's report (tables, summary.csv, plots) into this folder.")
    ] = None,
) -> None:
    """Compare the runs of one or all experiments: verdicts with paired tests and intervals, tables, plots.

    Saved in results/NAME/report/: the full view (latest plan, format table, no --filter, --all or --no-plots).

    Any other view is only printed and leaves that folder as it was; --out DIR writes it into DIR.
    """
    from actbench.report import build_report, files, find_experiments, formats
    from actbench.report.scope import no_match_message, parse_filters
    from actbench.report.tables import check_sort_key

    try:
        if fmt not in REPORT_FORMATS:
            raise ActbenchError(f"--format {fmt!r}: use one of {', '.join(REPORT_FORMATS)}")
        check_sort_key(sort_by)
        parse_filters(filter_ or [])
        if out is not None and out.exists() and not out.is_dir():
            raise ActbenchError(f"--out {out}: is a file; give a folder (it is created if missing)")
        reports = [build_report(exp_dir, filter_ or [], all_runs) for exp_dir in find_experiments(target)]
        if filter_ and all(r.runs.empty for r in reports):
            raise ActbenchError(no_match_message(filter_, [r.scope for r in reports], target))
        if out is not None:
            files.check_out_folder(out, reports)
        formats.print_report(reports, fmt, sort_by, wide)
        # Messages go to stderr when stdout carries csv, json or markdown, so that stays one valid document.
        err = fmt != "table"
        if out is not None:
            for folder in files.write_view(reports, out, plots):
                typer.echo(f"report written to {folder}/", err=err)
        elif plots and fmt == "table" and not filter_ and not all_runs:
            for built in reports:
                typer.echo(f"report written to {files.write_report_files(built)}/")
        else:
            saved = ", ".join(f"{files.saved_report_folder(r)}/" for r in reports)
            typer.echo(f"note: this view is not saved and {saved} is unchanged; add --out DIR to write it "
                       "(plain `actbench report` rewrites the saved full report)", err=True)
    except ActbenchError as exc:
        raise _fail(str(exc)) from None
