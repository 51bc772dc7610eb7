"""Write results/<experiment>/report/: summary.csv, report.md with the plots embedded, and the PNGs."""

from __future__ import annotations

from pathlib import Path

from actbench.report import ExperimentReport
from actbench.report.render import markdown, summary_rows
from actbench.results import write_atomic


def write_report_files(report: ExperimentReport, with_plots: bool = True) -> Path:
    folder = report.exp_dir / "report"
    folder.mkdir(exist_ok=True)
    write_atomic(folder / "summary.csv", report.aggregated.summary.to_csv(index=False))
    plots = []
    if with_plots:
        from actbench.report.plots import write_plots  # matplotlib is slow to import; only when drawing

        plots = write_plots(report, folder)
    text = markdown(report, summary_rows(report))
    if plots:
        text += "\n## Plots\n\n" + "\n".join(f"![{p.stem.replace('_', ' ')}]({p.name})\n" for p in plots)
    write_atomic(folder / "report.md", text)
    return folder
