"""One run as a function of plain inputs: execute(spec, data) -> RunRecord, ready to be written by the driver.

Any executor calls it, in this process, in a worker process or in a Ray task; it writes nothing,
so the driver stays the only writer of results/. A Python error inside the run becomes a `failed`
record (the sweep goes on); a data problem (ActbenchError) is the user's to fix and propagates.
"""

from __future__ import annotations

import re
import time
import traceback
from collections.abc import Callable
from typing import Any

from actbench import results
from actbench.config import RunSpec, run_id
from actbench.datasets import Dataset
from actbench.results import RunRecord

EpochCallback = Callable[[int, dict[str, float]], None]


def execute(spec: RunSpec, data: Dataset, on_epoch: EpochCallback | None = None) -> RunRecord:
    from actbench import train  # imports TensorFlow: only once a run really trains

    started = time.perf_counter()
    try:
        outcome = train.train_and_evaluate(spec, data, on_epoch=on_epoch)
        status, metrics, files = outcome.status, outcome.metrics, run_files(outcome)
    except Exception as exc:  # noqa: BLE001 - any error in one run must not stop the sweep
        status, files = "failed", {}
        metrics = {"error": one_line_error(exc), "traceback": traceback.format_exc()}
    # The whole run's wall time (building, training, testing): what cost estimates learn from.
    metrics["run_seconds"] = round(time.perf_counter() - started, 3)
    return RunRecord(run_id(spec), status, metrics, files)


def failed_record(spec: RunSpec, reason: str) -> RunRecord:
    """A run that could not be executed at all (its worker died, every retry too)."""
    return RunRecord(run_id(spec), "failed", {"error": reason})


def one_line_error(exc: BaseException, limit: int = 300) -> str:
    """An exception as one readable line: Keras wraps errors in multi-line, coloured messages."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", f"{type(exc).__name__}: {exc}")
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def run_files(outcome: Any) -> dict[str, str | bytes]:
    """The files of a trained run (a train.RunResult), named and encoded by actbench.results."""
    test, probe, diagnostics = outcome.evaluation, outcome.diagnostics, None
    if probe is not None:
        from actbench.diagnostics import COLUMNS  # imports TensorFlow, loaded anyway once a run trained

        diagnostics = (probe.rows, COLUMNS)
    return results.run_files(
        outcome.history,
        predictions=None if test is None else (test.outputs, test.output_activation, test.labels, test.class_names),
        confusion=None if test is None else (test.confusion, test.class_names),
        diagnostics=diagnostics,
        histograms=None if probe is None else probe.histograms,
    )
