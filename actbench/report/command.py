"""What `actbench report` does once its arguments are parsed: check them, build each experiment's
report, print it through the Terminal, and save it (the full view), write it to --out, or say that this
view is not saved."""

from __future__ import annotations

from pathlib import Path

from actbench.terminal import Terminal


def show_report(
    target: Path,
    fmt: str,
    sort_by: str | None,
    filters: list[str],
    all_runs: bool,
    wide: bool,
    plots: bool,
    out: Path | None,
    terminal: Terminal,
) -> None:
    from actbench.report import build_reports, files, formats
    from actbench.report.ranks import overall_across
    from actbench.report.tables import check_sort_key

    check_sort_key(sort_by)
    if out is not None:
        files.check_out_is_folder(out)
    reports = build_reports(target, filters, all_runs)
    if out is not None:
        files.check_out_folder(out, reports)
    across = overall_across(reports)
    formats.print_report(reports, fmt, terminal, sort_by, wide, across)
    # Messages go to stderr when stdout carries csv, json or markdown, so that stays one valid document.
    say = terminal.info if fmt == "table" else terminal.remark
    # A report with no run to show is not written: it would replace a useful one with an empty one.
    for built in (r for r in reports if r.runs.empty):
        terminal.note(f"{built.name}: no completed run to report; nothing written, an earlier report is left as it was")
    shown = [r for r in reports if not r.runs.empty]
    if out is not None:
        for folder in files.write_view(reports, out, plots):
            say(f"report written to {folder}/")
        if across is not None:
            say(f"overall section written to {files.write_across_files(across, files.across_folder(out), plots)}/")
    elif plots and fmt == "table" and not filters and not all_runs:
        for built in shown:
            say(f"report written to {files.write_report_files(built)}/")
        if across is not None:
            say(f"overall section written to {files.write_across_files(across, files.across_folder(target))}/")
    else:
        saved = ", ".join(f"{files.saved_report_folder(r)}/" for r in reports)
        terminal.note(
            f"this view is not saved and {saved} is unchanged; add --out DIR to write it "
            "(plain `actbench report` rewrites the saved full report)"
        )
