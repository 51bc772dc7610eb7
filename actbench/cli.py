"""The command line: Typer commands that parse arguments, call one library function, and turn
ActbenchError into exit code 2.

Exit codes: 0 every run finished or diverged; 1 some run failed; 2 bad usage, config or data;
130 interrupted (Ctrl-C), 143 terminated (SIGTERM).
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from actbench.native_logs import filter_tensorflow_start_up, quiet_tensorflow

# TensorFlow's C++ start-up chatter is noise in a CLI, whichever command (or a config's own module) imports it.
quiet_tensorflow()
filter_tensorflow_start_up()

from actbench.cli_base import FlagCommand, FlagGroup, command_outcome  # noqa: E402
from actbench.cli_export import export_app  # noqa: E402
from actbench.datasets.sources import DATA_DIR_ENV, MIRROR_ENV  # noqa: E402
from actbench.errors import ActbenchError  # noqa: E402
from actbench.results import RunStatus  # noqa: E402

app = typer.Typer(
    help="Compare activation functions on MNIST and Fashion-MNIST: run YAML experiments, report the results.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=FlagGroup,
)
app.add_typer(export_app, name="export")

ResultsDir = Annotated[Path, typer.Option("--results-dir", help="Where results/<experiment>/ folders live.")]


class ReportFormat(str, Enum):
    """`actbench report --format`: parsed here, once."""

    table = "table"
    markdown = "markdown"
    csv = "csv"
    json = "json"


def _show_version(value: bool) -> None:
    if value:
        from actbench import __version__
        from actbench.terminal import Terminal

        Terminal().output(f"actbench {__version__}")
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
    config_path: Annotated[
        Path, typer.Argument(metavar="CONFIG", help="Experiment YAML, e.g. configs/relu_vs_sigmoid.yaml.")
    ],
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            "-s",
            metavar="PATH=VALUE",
            help="Override a config value: dotted.path=value (YAML scalar). Repeatable.",
        ),
    ] = None,
    epochs: Annotated[int | None, typer.Option(help="Shortcut for --set training.epochs=N.")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Shortcut for --set training.batch_size=N.")] = None,
    seeds: Annotated[int | None, typer.Option(help="Shortcut for --set seeds=N (seeds 0..N-1).")] = None,
    limit_train: Annotated[int | None, typer.Option(help="Shortcut for --set data.limit_train=N.")] = None,
    limit_test: Annotated[int | None, typer.Option(help="Shortcut for --set data.limit_test=N.")] = None,
    source: Annotated[str | None, typer.Option(help="Shortcut for --set data.source=auto|full|sample.")] = None,
    deterministic: Annotated[
        bool, typer.Option("--deterministic", help="Also enable TensorFlow op determinism.")
    ] = False,
    diagnostics: Annotated[
        bool,
        typer.Option("--diagnostics", help="Measure dead units, saturation and gradient norms per layer and epoch."),
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="List the runs, which are finished and what the rest will cost; train nothing."),
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Rerun runs that are already finished.")] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress and no notes: only warnings, errors and failed runs.")
    ] = False,
    results_dir: ResultsDir = Path("results"),
    data_dir: Annotated[
        Path | None, typer.Option(envvar=DATA_DIR_ENV, help="Folder searched first for the full datasets.")
    ] = None,
    mirror: Annotated[
        str | None,
        typer.Option(envvar=MIRROR_ENV, help="Base URL to download the datasets from instead of the default."),
    ] = None,
    workers: Annotated[
        str | None,
        typer.Option(
            metavar="N|auto",
            help="Train N runs at once in worker processes, each with its share of the cores (and a GPU where there are "
            "GPUs); auto: one per core, or two per GPU.",
        ),
    ] = None,
    ray: Annotated[
        str | None,
        typer.Option(
            metavar="ADDRESS",
            help="Train on a Ray cluster: its address (ray://host:10001 or host:6379), auto (the cluster this machine "
            "belongs to) or local (a private instance here). Needs pip install 'actbench\\[ray]'.",
        ),
    ] = None,
    retries: Annotated[
        int,
        typer.Option(
            min=0, help="Times a run is tried again when its worker process or node dies (not for errors in the run)."
        ),
    ] = 2,
    pack: Annotated[
        str,
        typer.Option(
            metavar="auto|off|K",
            help="Train runs that read the same batches (differing in activation, seed, learning rate, dropout and "
            "what else each model holds) together in one process, each with the numbers it gets alone: auto sizes packs from memory and workers; off trains one run at a time; K packs at most K.",
        ),
    ] = "auto",
    export_to: Annotated[
        list[str] | None,
        typer.Option(
            "--export",
            metavar="TOOL",
            help="tensorboard or mlflow: at the end, also after Ctrl-C, export the finished runs "
            "(to <results-dir>/tensorboard; MLFLOW_TRACKING_URI, else <results-dir>/mlflow.db). Repeatable.",
        ),
    ] = None,
) -> None:
    """Train and evaluate every run of an experiment; finished runs are skipped."""
    from actbench.config import option_overrides, parse_set
    from actbench.sweep import launch, run_options
    from actbench.terminal import Terminal

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
    terminal = Terminal(quiet)
    with command_outcome("completed runs are saved and the rest run when you repeat the command", terminal):
        shipped = None if config_path.exists() else _shipped_config(config_path)
        if shipped:
            raise ActbenchError(f"{config_path}: no such config file; did you mean {shipped}?")
        options = run_options(
            lambda name: f"--{name}",
            workers=workers,
            ray=ray,
            pack=pack,
            export_to=export_to or [],
            retries=retries,
            results_dir=results_dir,
            data_dir=data_dir,
            mirror=mirror,
            dry_run=dry_run,
            force=force,
            quiet=quiet,
        )
        overrides = [*map(parse_set, set_ or []), *option_overrides(shortcuts)]
        summary = launch(config_path, overrides, options, terminal)
    if summary is not None and summary.counts[RunStatus.FAILED]:
        raise typer.Exit(code=1)


def _shipped_config(path: Path) -> str | None:
    """An example config of the same (or a close) name in configs/, here or in actbench's checkout, as it is best typed."""
    import difflib

    for folder in (Path("configs"), Path(__file__).resolve().parent.parent / "configs"):
        names = sorted(p.name for p in folder.glob("*.yaml")) if folder.is_dir() else []
        found = difflib.get_close_matches(path.name, names, n=1, cutoff=0.8)
        if found:
            shipped = folder / found[0]
            return str(shipped.relative_to(Path.cwd()) if shipped.is_relative_to(Path.cwd()) else shipped)
    return None


@app.command(cls=FlagCommand)
def activations() -> None:
    """List the activation functions actbench knows, with their parameters and default initialisers."""
    from actbench.activation_table import HOW_TO_WRITE, activation_table
    from actbench.terminal import Terminal

    terminal = Terminal()
    terminal.table(activation_table())
    terminal.output(HOW_TO_WRITE)


@app.command(cls=FlagCommand)
def report(
    target: Annotated[
        Path, typer.Argument(help="An experiment folder (results/NAME) or a results folder with several.")
    ] = Path("results"),
    fmt: Annotated[ReportFormat, typer.Option("--format", "-f", help="How to print it.")] = ReportFormat.table,
    sort_by: Annotated[
        str | None,
        typer.Option(help="Sort each table by: rank, accuracy, activation, n, difference, p, loss, 'train s', ..."),
    ] = None,
    filter_: Annotated[
        list[str] | None,
        typer.Option("--filter", help="Keep runs whose column equals a value: dataset=mnist. Repeatable."),
    ] = None,
    all_runs: Annotated[
        bool, typer.Option("--all", help="Every run in the folder, not only those of the latest `actbench run`.")
    ] = False,
    wide: Annotated[
        bool, typer.Option("--wide", help="Every column, at any width (default: fit the terminal).")
    ] = False,
    plots: Annotated[bool, typer.Option("--plots/--no-plots", help="Draw the PNG plots.")] = True,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write this view's report (tables, summary.csv, plots) into this folder."),
    ] = None,
) -> None:
    """Compare the runs of one or all experiments: verdicts with paired tests and intervals, tables, plots.

    Saved in results/NAME/report/: the full view (latest plan, format table, no --filter, --all or --no-plots).

    Any other view is only printed and leaves that folder as it was; --out DIR writes it into DIR.
    """
    from actbench.report.command import show_report
    from actbench.terminal import Terminal

    # Every file it wrote is whole; a plain `actbench report` writes them all again.
    with command_outcome("run the report again for a complete one"):
        show_report(target, fmt.value, sort_by, filter_ or [], all_runs, wide, plots, out, Terminal())
