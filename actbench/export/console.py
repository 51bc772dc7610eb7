"""An export as the user sees it: a progress bar, notes, one line of what was written; and the export
that `actbench run --export` does when the sweep ends, also after Ctrl-C."""

from __future__ import annotations

from pathlib import Path

import typer

from actbench.errors import ActbenchError
from actbench.export import default_destination, export, require, results_root
from actbench.progress import export_progress
from actbench.results import is_experiment_dir


def export_target(tool: str, target: Path, destination: str | None, quiet: bool) -> None:
    """`actbench export TOOL TARGET`: every experiment folder under TARGET, to `destination` or the tool's default."""
    from actbench.report import find_experiments

    require(tool)
    for exp_dir in find_experiments(target):
        export_one(tool, exp_dir, destination or default_destination(tool, results_root(target)), quiet)


def export_one(tool: str, exp_dir: Path, destination: str, quiet: bool) -> None:
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
    if not tools or exp_dir is None or not is_experiment_dir(exp_dir):
        return
    for tool in tools:
        try:
            export_one(tool, exp_dir, default_destination(tool, results_root(exp_dir)), quiet)
        except ActbenchError as exc:
            typer.echo(f"error: export to {tool}: {exc}", err=True)
        except KeyboardInterrupt:
            typer.echo(f"export to {tool} interrupted; `actbench export {tool} {exp_dir}` finishes it", err=True)
            return
