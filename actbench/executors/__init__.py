"""Where runs train: one process (Serial), worker processes on this machine (Workers), or a Ray cluster (RayCluster).

Every executor takes jobs lazily from an iterator (the driver claims each run as it hands it
out) and yields a RunRecord per job as it completes, in completion order. Executors never write
results: the driver does. A Python error inside a run is a `failed` record, never retried; a
worker or node that dies has its run retried `retries` times, then recorded `failed` with the
reason. A data problem (ActbenchError) stops the sweep.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from actbench.config import RunSpec
from actbench.datasets.cache import DataRequest
from actbench.execute import RunRecord


@dataclass(frozen=True)
class Job:
    spec: RunSpec
    run_id: str
    title: str


class Events(Protocol):
    def started(self, job: Job) -> None: ...

    def epoch(self, job: Job, epoch: int, row: dict[str, float]) -> None: ...

    def retrying(self, job: Job, why: str) -> None: ...  # its worker died: it is handed out again


class Executor(Protocol):
    parallelism: int  # how many runs train at once

    def start(self) -> None: ...  # get ready while the driver plans (e.g. start worker processes)

    def run(self, jobs: Iterator[Job], events: Events) -> Iterator[RunRecord]: ...

    def stop(self) -> None: ...  # nothing keeps training after this; also when run() was never reached


def pick_executor(workers: str | None, ray_address: str | None, request: DataRequest, retries: int) -> Executor:
    """The executor the command line asked for: --ray ADDRESS, else --workers N|auto, else serial."""
    from actbench.executors import resources

    if ray_address is not None:
        from actbench.executors.ray_cluster import RayCluster

        return RayCluster(ray_address, request, retries)
    count = resources.worker_count(workers)
    if count == 1:
        from actbench.executors.serial import Serial

        return Serial(request)
    from actbench.executors.workers import Workers

    return Workers(count, request, retries)
