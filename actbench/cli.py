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

from actbench.errors import ActbenchError  # noqa: E402

app = typer.Typer(
    help="Compare activation functions on MNIST and Fashion-MNIST: run YAML experiments, report the results.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

ResultsDir = Annotated[Path, typer.Option("--results-dir", help="Where results/<experiment>/ folders live.")]


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=code)


@app.command()
def run(
    config_path: Annotated[Path, typer.Argument(metavar="CONFIG", help="Experiment YAML, e.g. configs/relu_vs_sigmoid.yaml.")],
    set_: Annotated[
        Optional[list[str]],
        typer.Option("--set", "-s", help="Override a config value: dotted.path=value (YAML scalar). Repeatable."),
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
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List the runs and which are finished; train nothing.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Rerun runs that are already finished.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only warnings and errors.")] = False,
    results_dir: ResultsDir = Path("results"),
    data_dir: Annotated[
        Optional[Path], typer.Option(envvar="ACTBENCH_DATA_DIR", help="Folder searched first for the full datasets.")
    ] = None,
    mirror: Annotated[
        Optional[str], typer.Option(envvar="ACTBENCH_MIRROR", help="Base URL to download the datasets from instead of the default.")
    ] = None,
) -> None:
    """Train and evaluate every run of an experiment; finished runs are skipped."""
    from actbench import runner
    from actbench.native_logs import filter_native_stderr
    from actbench.config import load_config
    from actbench.progress import pick_reporter

    shortcuts = {
        "training.epochs": epochs,
        "training.batch_size": batch_size,
        "seeds": seeds,
        "data.limit_train": limit_train,
        "data.limit_test": limit_test,
        "data.source": source,
    }
    overrides = [*(set_ or []), *(f"{key}={value}" for key, value in shortcuts.items() if value is not None)]
    if deterministic:
        overrides.append("deterministic=true")
    if diagnostics:
        overrides.append("diagnostics=true")
    try:
        config = load_config(config_path, overrides)
        if dry_run:
            _print_plan(*runner.plan_runs(config, results_dir, data_dir), results_dir / config.name)
            return
        filter_native_stderr()
        summary = runner.run_experiment(
            config, results_dir, data_dir=data_dir, mirror=mirror, force=force, reporter=pick_reporter(quiet)
        )
    except ActbenchError as exc:
        raise _fail(str(exc)) from None
    except KeyboardInterrupt:
        raise _fail("interrupted; completed runs are saved and the rest run when you repeat the command", 130) from None
    counts = summary.counts
    if not quiet:
        typer.echo(
            f"{counts['finished']} finished, {counts['diverged']} diverged, {counts['failed']} failed, "
            f"{counts['skipped']} already done; results: {summary.results_csv}"
        )
    if counts["failed"]:
        raise typer.Exit(code=1)


def _print_plan(planned: list, notes: list[str], exp_dir: Path) -> None:
    for note in notes:
        typer.echo(f"note: {note}", err=True)
    for run in planned:
        typer.echo(f"{run.run_id}  {run.status or 'todo':9}  {run.title}")
    done = sum(run.done for run in planned)
    typer.echo(f"{len(planned)} runs, {done} already done, {len(planned) - done} to run; results in {exp_dir}")


@app.command()
def activations() -> None:
    """List the activation functions actbench knows, with their parameters and default initialisers."""
    from actbench.activations import CATALOGUE, label

    for info in CATALOGUE.values():
        aliases = f" (also: {', '.join(info.aliases)})" if info.aliases else ""
        typer.echo(f"{label(info.name, info.defaults):36} {info.initializer:15} {info.summary}{aliases}")
    typer.echo("Your own: 'package.module:function' (Glorot initialiser unless the model sets one).")


@app.command()
def report(
    target: Annotated[
        Path, typer.Argument(help="An experiment folder (results/NAME) or a results folder with several.")
    ] = Path("results"),
    fmt: Annotated[str, typer.Option("--format", "-f", help="table | markdown | csv | json")] = "table",
    sort_by: Annotated[Optional[str], typer.Option(help="Sort the summary by this column instead of rank.")] = None,
    filter_: Annotated[
        Optional[list[str]], typer.Option("--filter", help="Keep runs whose column equals a value: dataset=mnist. Repeatable.")
    ] = None,
    plots: Annotated[bool, typer.Option("--plots/--no-plots", help="Draw the PNG plots into report/.")] = True,
) -> None:
    """Compare the runs of one or all experiments: ranked tables with confidence intervals and tests, plots."""
    from actbench.report import build_report, find_experiments
    from actbench.report.files import write_report_files
    from actbench.report.render import render

    if fmt not in ("table", "markdown", "csv", "json"):
        raise _fail(f"--format {fmt!r}: use table, markdown, csv or json")
    try:
        for exp_dir in find_experiments(target):
            built = build_report(exp_dir, filter_ or [])
            text = render(built, fmt, sort_by)
            if text is not None:
                typer.echo(text)
            folder = write_report_files(built, with_plots=plots)
            if fmt == "table":
                typer.echo(f"report written to {folder}/")
    except ActbenchError as exc:
        raise _fail(str(exc)) from None
