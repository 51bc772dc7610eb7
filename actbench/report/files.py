"""Write a report folder: summary.csv, report.md with the plots embedded, and the PNGs.

results/<experiment>/report/ holds the full view only (the latest plan, unfiltered, with plots):
a filtered or partial view is written only where --out sends it, so it never replaces the saved report.
"""

from __future__ import annotations

from pathlib import Path

from actbench.errors import ActbenchError
from actbench.report import ExperimentReport
from actbench.report.figure import REPORT_ADVICE
from actbench.report.formats import markdown, to_csv
from actbench.results import guarded, remove, write_atomic


def saved_report_folder(report: ExperimentReport) -> Path:
    return report.exp_dir / "report"


def check_out_is_folder(out: Path) -> None:
    """--out must be a folder, or not exist yet: checked before any experiment folder is read."""
    if out.exists() and not out.is_dir():
        raise ActbenchError(f"--out {out}: is a file; give a folder (it is created if missing)")


def check_out_folder(out: Path, reports: list[ExperimentReport]) -> None:
    """--out must be a folder (or not exist yet) and must not be a saved full report's folder."""
    check_out_is_folder(out)
    for report in reports:
        if _target(out, report, len(reports)).resolve() == saved_report_folder(report).resolve():
            raise ActbenchError(
                f"--out {out}: that is the saved full report of {report.name}; give another folder for a view"
            )


def _target(out: Path, report: ExperimentReport, count: int) -> Path:
    return out / report.name if count > 1 else out


def write_view(reports: list[ExperimentReport], out: Path, with_plots: bool) -> list[Path]:
    """Write each report with runs to show into out/ (out/<experiment>/ for several)."""
    return [
        write_report_files(report, _target(out, report, len(reports)), with_plots)
        for report in reports
        if not report.runs.empty
    ]


def write_report_files(report: ExperimentReport, folder: Path | None = None, with_plots: bool = True) -> Path:
    """Write one report; without `folder`, its saved full report (refused for any other view)."""
    if folder is None:
        if not report.scope.is_full or not with_plots:
            raise ValueError(
                "only the full view (latest plan, no --filter, with plots) is saved in results/<experiment>/report/"
            )
        folder = saved_report_folder(report)
    with guarded(folder, REPORT_ADVICE):
        folder.mkdir(parents=True, exist_ok=True)
    plots = []
    if with_plots:
        from actbench.report.plots import write_plots  # matplotlib is slow to import; only when drawing

        plots = write_plots(report, folder)
    for stale in set(folder.glob("*.png")) - set(plots):  # from an earlier report: it would mislead beside this one
        remove(stale, REPORT_ADVICE)
    text = markdown(report)  # after the plots: drawing can add notes (an unreadable file)
    if plots:
        text += "\n## Plots\n\n" + "\n".join(f"![{p.stem.replace('_', ' ')}]({p.name})\n" for p in plots)
    write_atomic(folder / "summary.csv", to_csv([report]), REPORT_ADVICE)
    write_atomic(folder / "report.md", text, REPORT_ADVICE)
    return folder
