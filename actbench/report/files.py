"""Write a report folder: summary.csv, report.md with the plots embedded, and the PNGs.

results/<experiment>/report/ holds the full view only (the latest plan, unfiltered, with plots):
a filtered or partial view is written only where --out sends it, so it never replaces the saved report.
"""

from __future__ import annotations

from pathlib import Path

from actbench.errors import ActbenchError
from actbench.report import ExperimentReport
from actbench.report.figure import REPORT_ADVICE
from actbench.report.formats import markdown, overall_markdown, to_csv
from actbench.report.ranks import Overall
from actbench.results import guarded, remove, write_atomic

# The overall section over several experiments is written beside their folders, in one no experiment can
# have (an experiment's name starts with a letter or digit).
ACROSS_FOLDER = "_overall"
# The overall section's files in a report folder: its table and the rank in each block.
OVERALL_FILES = ("overall.csv", "ranks.csv")
TUNING_FILE = "tuning.csv"  # a tuned experiment's choices, as report_tables()["tuning"]


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
        if report.overall is not None and report.overall.verdicts is not None:
            plots.append(_draw_ranks(report.overall, folder))
        if report.tuned is not None and not report.aggregated.summary.empty:
            plots += filter(None, [_draw_tuning(report, folder)])
    written = _write_overall_tables(report.overall, folder)
    if report.tuned is not None:
        written.append(folder / TUNING_FILE)
        write_atomic(folder / TUNING_FILE, report.tuned.table().to_csv(index=False), REPORT_ADVICE)
    # From an earlier report: it would mislead beside this one.
    for stale in (set(folder.glob("*.png")) - set(plots)) | {folder / n for n in (*OVERALL_FILES, TUNING_FILE)} - set(
        written
    ):
        if stale.exists():
            remove(stale, REPORT_ADVICE)
    text = markdown(report)  # after the plots: drawing can add notes (an unreadable file)
    if plots:
        text += "\n## Plots\n\n" + "\n".join(f"![{p.stem.replace('_', ' ')}]({p.name})\n" for p in plots)
    write_atomic(folder / "summary.csv", to_csv([report]), REPORT_ADVICE)
    write_atomic(folder / "report.md", text, REPORT_ADVICE)
    return folder


def across_folder(root: Path) -> Path:
    """Where the overall section over the experiments of results folder `root` is written."""
    return root / ACROSS_FOLDER


def write_across_files(overall: Overall, folder: Path, with_plots: bool = True) -> Path:
    """The overall section over several experiments: report.md, its tables and ranks.png."""
    with guarded(folder, REPORT_ADVICE):
        folder.mkdir(parents=True, exist_ok=True)
    text = overall_markdown(overall, level=1)
    plots = [_draw_ranks(overall, folder)] if with_plots and overall.verdicts is not None else []
    text += "".join(f"\n![ranks]({plot.name})\n" for plot in plots)
    written = _write_overall_tables(overall, folder)
    for stale in {folder / "ranks.png", *(folder / n for n in OVERALL_FILES)} - set(plots) - set(written):
        if stale.exists():  # from an earlier report: it would mislead beside this one
            remove(stale, REPORT_ADVICE)
    write_atomic(folder / "report.md", text, REPORT_ADVICE)
    return folder


def _draw_ranks(overall: Overall, folder: Path) -> Path:
    from actbench.report.rank_plots import ranks_figure  # matplotlib: only when drawing

    return ranks_figure(overall, folder / "ranks.png")


def _draw_tuning(report: ExperimentReport, folder: Path) -> Path | None:
    from actbench.report.figure import Looks
    from actbench.report.tuning_plots import tuning_figure  # matplotlib: only when drawing

    assert report.tuned is not None
    return tuning_figure(report.tuned, Looks(report.aggregated.summary), report.name, folder / "tuning.png")


def _write_overall_tables(overall: Overall | None, folder: Path) -> list[Path]:
    if overall is None or overall.verdicts is None:
        return []
    paths = [folder / name for name in OVERALL_FILES]
    write_atomic(paths[0], overall.table().to_csv(index=False), REPORT_ADVICE)
    write_atomic(paths[1], overall.block_ranks().reset_index(names="block").to_csv(index=False), REPORT_ADVICE)
    return paths
