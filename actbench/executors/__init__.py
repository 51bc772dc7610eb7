"""Where runs train, and how a pack of runs is executed: execute_pack(specs, data) -> RunRecords, in this
process (Serial), in worker processes on this machine (Workers) or in Ray tasks (RayCluster).

Every executor takes packs lazily from an iterator (the driver claims each pack's runs as it hands
it out; a pack is one run unless packing is on, see actbench.packing) and yields a RunRecord per run
as its pack completes, in completion order. Neither executors nor
execute write results: the driver does, so it stays the only writer of results/.

The error policy, the same for every executor, and nowhere else:
- a data or config problem (ActbenchError) is the user's to fix: it stops the sweep, with its one line;
- a worker or node that dies (killed, out of memory, a crash in native code) has its run tried again,
  at most `retries` times, then recorded failed with the reason (a pack's runs are tried again alone);
- any other exception inside a run fails that run alone (a `failed` record with the error, never
  retried) and the sweep goes on.
"""

from __future__ import annotations

import functools
import re
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from actbench import results
from actbench.config import RunSpec, run_id
from actbench.datasets import Dataset
from actbench.datasets.cache import DataRequest, cache_for
from actbench.errors import ActbenchError
from actbench.packing import PackEpochCallback
from actbench.results import RunRecord, RunStatus

if TYPE_CHECKING:  # train imports TensorFlow: only once a run really trains
    from actbench.train import EpochCallback


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
    parallelism: int  # how many runs train at once

    def start(self) -> None: ...  # get ready while the driver plans (e.g. start worker processes)

    def run(self, packs: Iterator[Pack], events: Events) -> Iterator[RunRecord]: ...

    def stop(self) -> None: ...  # nothing keeps training after this; also when run() was never reached


def pick_executor(workers: str | None, ray_address: str | None, request: DataRequest, retries: int) -> Executor:
    """The executor the command line asked for: --ray ADDRESS, else --workers N|auto, else serial."""
    from actbench.executors import resources

    if ray_address is not None:
        from actbench.executors.ray_cluster import RayCluster

        return RayCluster(ray_address, request, retries)
    count = resources.worker_count(workers)
    if count == 1:
        return Serial(request)
    from actbench.executors.workers import Workers

    return Workers(count, request, retries)


class Serial:
    """Runs one after another in this process: the default."""

    parallelism = 1

    def __init__(self, request: DataRequest) -> None:
        self.cache = cache_for(request)

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def run(self, packs: Iterator[Pack], events: Events) -> Iterator[RunRecord]:
        for pack in packs:
            data = self.cache.cut(pack.jobs[0].spec)  # a data problem (ActbenchError) stops the sweep here
            for job in pack.jobs:
                events.started(job)
            yield from execute_pack(pack.specs, data, on_epoch=functools.partial(_epoch_of, events, pack.jobs))


def _epoch_of(events: Events, jobs: tuple[Job, ...], index: int, epoch: int, row: dict[str, float]) -> None:
    """A pack's epoch (its run's index in the pack) as the event of that run's job."""
    events.epoch(jobs[index], epoch, row)


def execute_pack(specs: list[RunSpec], data: Dataset, on_epoch: PackEpochCallback | None = None) -> list[RunRecord]:
    """Train and test a pack's runs together (actbench.packing), or a single run alone: a record per
    run, in order. `on_epoch` is told the run's index in the pack. A run whose model cannot be built
    fails alone; any other error inside the pack (but an ActbenchError) fails each of its runs."""
    if len(specs) == 1:
        alone: EpochCallback | None = None if on_epoch is None else lambda epoch, row: on_epoch(0, epoch, row)
        return [execute(specs[0], data, alone)]
    from actbench import packing  # imports TensorFlow: only once a run really trains

    started = time.perf_counter()
    try:
        outcomes: list[Any] = packing.train_pack(specs, data, on_epoch=on_epoch)
    except ActbenchError as exc:
        raise ActbenchError(_unwrapped(str(exc))) from None  # the user's to fix: it stops the sweep, in one line
    except Exception as exc:  # noqa: BLE001 - as in execute: one pack's error must not stop the sweep
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
        # Its share of the pack's wall time: what cost estimates learn from, as run_seconds is alone.
        metrics.update(run_seconds=round(seconds / len(specs), 3), pack_size=len(specs), pack_seconds=round(seconds, 3))
        records.append(RunRecord(run_id(spec), status, metrics, files))
    return records


def execute(spec: RunSpec, data: Dataset, on_epoch: EpochCallback | None = None) -> RunRecord:
    """Train and test one run: its record, `failed` with the error for anything but an ActbenchError."""
    from actbench import train  # imports TensorFlow: only once a run really trains

    started = time.perf_counter()
    try:
        outcome = train.train_and_evaluate(spec, data, on_epoch=on_epoch)
        status, metrics, files = outcome.status, outcome.metrics, results.run_files(outcome.outputs)
    except ActbenchError as exc:
        raise ActbenchError(_unwrapped(str(exc))) from None  # the user's to fix: it stops the sweep, in one line
    except Exception as exc:  # noqa: BLE001 - any other error in one run must not stop the sweep
        status, files = RunStatus.FAILED, {}
        metrics = {"error": one_line_error(exc), "traceback": traceback.format_exc()}
    # The whole run's wall time (building, training, testing): what cost estimates learn from.
    metrics["run_seconds"] = round(time.perf_counter() - started, 3)
    return RunRecord(run_id(spec), status, metrics, files)


def failed_record(spec: RunSpec, reason: str) -> RunRecord:
    """A run that failed outside execute (its worker died on every try): failed, with the reason."""
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
