"""`actbench export tensorboard|mlflow`: the Typer commands; actbench.export does the work."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from actbench.cli_base import FlagCommand, FlagGroup, command_outcome

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
        Path | None, typer.Option("--logdir", help="TensorBoard log directory (default: <results folder>/tensorboard).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only warnings and errors.")] = False,
) -> None:
    """One HParams session per run (settings as hyperparameters, seeds grouped), curves, test metrics, group statistics."""
    _export_command("tensorboard", target, str(logdir) if logdir else None, quiet)


@export_app.command("mlflow", cls=FlagCommand)
def export_mlflow(
    target: Target = Path("results"),
    tracking_uri: Annotated[
        str | None,
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
    from actbench.export.console import export_target
    from actbench.terminal import Terminal

    # What was exported stays; exporting again finishes it.
    with command_outcome(f"`actbench export {tool} {target}` finishes the export"):
        export_target(tool, target, destination, Terminal(quiet))
