"""The files sink: the only writer of results/<experiment>/ (besides claims/, which coordinate drivers)."""

from __future__ import annotations

from pathlib import Path

from actbench import results
from actbench.config import config_as_dict
from actbench.executors import Job
from actbench.results import RunRecord
from actbench.sinks import SweepStart


class FilesSink:
    """Writes plan.json and config.yaml when the sweep opens (its data already loaded: a sweep that cannot
    start changes nothing), and a tuned experiment's selection.json when its second stage opens, each
    run's folder as its record arrives
    (atomically, metrics.json last, so a kill at any moment loses nothing that finished), and
    rebuilds results.csv when it closes."""

    def __init__(self, exp_dir: Path) -> None:
        self.exp_dir = exp_dir
        self.results_csv: Path | None = None  # known once closed
        self.skipped: list[str] = []  # run folders results.csv left out, and why

    def opened(self, start: SweepStart) -> None:
        results.save_experiment(self.exp_dir, config_as_dict(start.config), start.run_ids)
        if start.selection is not None:
            results.save_selection(self.exp_dir, start.selection.as_json())

    def started(self, job: Job) -> None: ...

    def epoch(self, job: Job, epoch: int, row: dict[str, float]) -> None: ...

    def retrying(self, job: Job, why: str) -> None: ...

    def left(self, job: Job, why: str | None) -> None: ...

    def warned(self, message: str) -> None: ...

    def finished(self, job: Job, record: RunRecord) -> None:
        results.save_record(self.exp_dir, job.spec.as_json(), record)

    def closed(self) -> None:
        self.results_csv, _, self.skipped = results.rebuild_results_csv(self.exp_dir)
