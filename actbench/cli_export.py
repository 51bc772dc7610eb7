"""`actbench export tensorboard|mlflow`, and the export at the end of `actbench run --export`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from actbench.cli_base import FlagCommand, FlagGroup, fail
from actbench.errors import ActbenchError

export_app = typer.Typer(
    help="Send an experiment's runs to TensorBoard's HParams dashboard or to MLflow, with actbench's statistics.",
    no_args_is_help=True,
    cls=FlagGroup,
)


Target = Annotated[
    Path, typer.Argument(metavar="TARGET", help="An experiment folder (results/NAME) or a results folder with several.")
]


@export_app.command("tensorboard", cls=FlagCommand)
def export_tensorboard(
    target: Target = Path("results"),
    logdir: Annotated[
        Optional[Path], typer.Option("--logdir", help="TensorBoard log directory (default: <results folder>/tensorboard).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only warnings and errors.")] = False,
) -> None:
    """One HParams session per run (settings as hyperparameters, seeds grouped), curves, test metrics, group statistics."""
    _export_command("tensorboard", target, str(logdir) if logdir else None, quiet)


@export_app.command("mlflow", cls=FlagCommand)
def export_mlflow(
    target: Target = Path("results"),
    tracking_uri: Annotated[
        Optional[str],
        typer.Option(
            "--tracking-uri",
            envvar="MLFLOW_TRACKING_URI",
            help="Where MLflow records runs (default: sqlite:///<results folder>/mlflow.db).",
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only warnings and errors.")] = False,
) -> None:
    """A parent run per seed group (mean, std, CI, verdict), a nested run per seed; re-exporting updates."""
    _export_command("mlflow", target, tracking_uri, quiet)


def _export_command(tool: str, target: Path, destination: str | None, quiet: bool) -> None:
    from actbench.export import default_destination, require, results_root
    from actbench.report import find_experiments

    try:
        require(tool)
        for exp_dir in find_experiments(target):
            _export_one(tool, exp_dir, destination or default_destination(tool, results_root(target)), quiet)
    except ActbenchError as exc:
        raise fail(str(exc)) from None


def _export_one(tool: str, exp_dir: Path, destination: str, quiet: bool) -> None:
    from actbench.export import export
    from actbench.progress import export_progress

    with export_progress(f"{tool}: {exp_dir.name}", quiet) as progress:
        summary = export(tool, exp_dir, destination, progress)
    for note in summary.notes:
        typer.echo(f"note: {note}", err=True)
    if not quiet:
        unchanged = f", {summary.unchanged} unchanged" if summary.unchanged else ""
        typer.echo(f"{tool}: {summary.written} runs of {summary.experiment} exported{unchanged} to {summary.destination}")
        if tool == "tensorboard":
            typer.echo(f"  view: tensorboard --logdir {Path(summary.destination).parent}")


def export_after_run(tools: list[str] | None, exp_dir: Path | None, quiet: bool) -> None:
    """Export what finished; a failing export is reported but does not hide the sweep's own outcome."""
    if not tools or exp_dir is None or not (exp_dir / "runs").is_dir():
        return
    from actbench.export import default_destination, results_root

    for tool in tools:
        try:
            _export_one(tool, exp_dir, default_destination(tool, results_root(exp_dir)), quiet)
        except ActbenchError as exc:
            typer.echo(f"error: export to {tool}: {exc}", err=True)
        except KeyboardInterrupt:
            typer.echo(f"export to {tool} interrupted; `actbench export {tool} {exp_dir}` finishes it", err=True)
            return
