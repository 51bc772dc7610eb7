"""The executor seam and the error policy: what an executor is handed (packs of jobs), what it tells
(events), what it yields (a RunRecord per run), and how a pack is executed into records, wherever it
runs (`execute_pack`).

The error policy, the same for every executor, and nowhere else:
- a data or config problem (ActbenchError) is the user's to fix: it stops the sweep, with its one line;
- a worker or node that dies (killed, out of memory, a crash in native code) has its run tried again,
  at most `retries` times, then recorded failed with the reason (a pack's runs are tried again alone);
- any other exception inside a run fails that run alone (a `failed` record with the error, never
  retried) and the sweep goes on.
"""

from __future__ import annotations

import os
import re
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from actbench import resources, results
from actbench.config import RunSpec, run_id
from actbench.context import TrainingContext
from actbench.datasets import Dataset
from actbench.errors import ActbenchError
from actbench.packing import PackEpochCallback
from actbench.results import RunRecord, RunStatus


@dataclass(frozen=True)
class Job:
    spec: RunSpec
    run_id: str
    title: str


@dataclass(frozen=True)
class Pack:
    """What one process trains at once: runs that train together (one, unless packing is on)."""

    jobs: tuple[Job, ...]

    @property
    def specs(self) -> list[RunSpec]:
        return [job.spec for job in self.jobs]


class Events(Protocol):
    def started(self, job: Job) -> None: ...

    def epoch(self, job: Job, epoch: int, row: dict[str, float]) -> None: ...

    def retrying(self, job: Job, why: str) -> None: ...  # its worker died: it is handed out again


class Executor(Protocol):
    parallelism: int  # how many packs train at once

    def start(self) -> None: ...  # get ready while the driver plans (e.g. start worker processes)

    def run(self, packs: Iterator[Pack], events: Events) -> Iterator[RunRecord]: ...

    def stop(self) -> None: ...  # nothing keeps training after this; also when run() was never reached


def execute_pack(
    specs: list[RunSpec], data: Dataset, context: TrainingContext, on_epoch: PackEpochCallback | None = None
) -> list[RunRecord]:
    """Train and test a pack's runs (a run alone is a pack of one; actbench.training): a record per run,
    in order. `on_epoch` is told the run's index in the pack. A run whose model cannot be built fails
    alone; any other error inside the pack (but an ActbenchError) fails each of its runs."""
    from actbench import training  # imports TensorFlow: only once a run really trains

    started = time.perf_counter()
    try:
        outcomes: list[Any] = training.train_runs(specs, data, context, on_epoch=on_epoch)
    except ActbenchError as exc:
        raise ActbenchError(_unwrapped(str(exc))) from None  # the user's to fix: it stops the sweep, in one line
    except Exception as exc:  # noqa: BLE001 - one pack's error must not stop the sweep
        outcomes = [exc] * len(specs)
    seconds = time.perf_counter() - started
    records = []
    metrics: dict[str, Any]
    for spec, outcome in zip(specs, outcomes):
        if isinstance(outcome, BaseException):
            status, files = RunStatus.FAILED, {}
            metrics = {"error": one_line_error(outcome), "traceback": "".join(traceback.format_exception(outcome))}
        else:
            status, metrics, files = outcome.status, outcome.metrics, results.run_files(outcome.outputs)
        # Its share of the pack's wall time (building, training, testing): what cost estimates learn from.
        metrics.update(run_seconds=round(seconds / len(specs), 3), pack_size=len(specs), pack_seconds=round(seconds, 3))
        records.append(RunRecord(run_id(spec), status, metrics, files))
    return records


def prepare_worker_process(threads: int, gpu: str | None) -> None:
    """In a worker process (of this machine or a Ray node), before it trains: TensorFlow's start-up quiet
    (its stderr reaches the user's terminal), its thread pools sized to the worker's share of the cores,
    its GPU (or none). TensorFlow sizes its pools once per process, before its first operation: a later
    call (a Ray worker's next task) keeps them."""
    from actbench.native_logs import filter_tensorflow_start_up, quiet_tensorflow

    quiet_tensorflow()
    filter_tensorflow_start_up()
    if gpu is not None:
        os.environ[resources.VISIBLE_GPUS] = gpu
    os.environ["TF_FORCE_GPU_ALLOW_GROWTH"] = "true"  # several runs can share one GPU's memory
    import tensorflow as tf

    if tf.config.threading.get_intra_op_parallelism_threads() == threads:
        return
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:  # TensorFlow has started: its pools are sized for good
        pass


def failed_record(spec: RunSpec, reason: str) -> RunRecord:
    """A run that failed outside execute_pack (its worker died on every try): failed, with the reason."""
    return RunRecord(run_id(spec), RunStatus.FAILED, {"error": reason})


def _unwrapped(message: str) -> str:
    """A message as one line. Keras wraps an error raised inside a layer in several lines: a header, the
    original message in bold (ANSI codes), the layer's arguments; the original is what the user needs."""
    original = re.search(r"\x1b\[1m(.*?)\x1b\[0m", message, re.S)
    text = re.sub(r"\x1b\[[0-9;]*m", "", original.group(1) if original else message)
    return " ".join(text.split())


def one_line_error(exc: BaseException, limit: int = 300) -> str:
    """An exception as one readable line: its type and its own message."""
    text = f"{type(exc).__name__}: {_unwrapped(str(exc))}"
    return text if len(text) <= limit else text[: limit - 3] + "..."
