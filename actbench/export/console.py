"""An export as the user sees it: a progress bar, notes, one line of what was written; and the export
that `actbench run --export` does when the sweep ends, also after Ctrl-C."""

from __future__ import annotations

from pathlib import Path

from actbench.errors import ActbenchError
from actbench.export import default_destination, export, require, results_root
from actbench.results import is_experiment_dir
from actbench.terminal import Terminal


def export_target(tool: str, target: Path, destination: str | None, terminal: Terminal) -> None:
    """`actbench export TOOL TARGET`: every experiment folder under TARGET, to `destination` or the tool's default."""
    from actbench.report import find_experiments

    require(tool)
    for exp_dir in find_experiments(target):
        export_one(tool, exp_dir, destination or default_destination(tool, results_root(target)), terminal)


def export_one(tool: str, exp_dir: Path, destination: str, terminal: Terminal) -> None:
    with terminal.bar(f"{tool}: {exp_dir.name}") as progress:
        summary = export(tool, exp_dir, destination, progress)
    for note in summary.notes:
        terminal.note(note)
    unchanged = f", {summary.unchanged} unchanged" if summary.unchanged else ""
    terminal.info(
        f"{tool}: {summary.written} runs of {summary.experiment} exported{unchanged} to {summary.destination}"
    )
    if tool == "tensorboard":
        terminal.info(f"  view: tensorboard --logdir {Path(summary.destination).parent}")


def export_after_run(tools: list[str] | None, exp_dir: Path | None, terminal: Terminal) -> None:
    """Export what finished; a failing export is reported but does not hide the sweep's own outcome."""
    if not tools or exp_dir is None or not is_experiment_dir(exp_dir):
        return
    for tool in tools:
        try:
            export_one(tool, exp_dir, default_destination(tool, results_root(exp_dir)), terminal)
        except ActbenchError as exc:
            terminal.error(f"export to {tool}: {exc}")
        except KeyboardInterrupt:
            terminal.failure(f"export to {tool} interrupted; `actbench export {tool} {exp_dir}` finishes it")
            return
