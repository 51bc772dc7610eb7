"""Runs one after another in this process: the default."""

from __future__ import annotations

import functools
from collections.abc import Iterator

from actbench.datasets.cache import DataRequest, cache_for
from actbench.execute import RunRecord, execute
from actbench.executors import Events, Job


class Serial:
    parallelism = 1

    def __init__(self, request: DataRequest) -> None:
        self.cache = cache_for(request)

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def run(self, jobs: Iterator[Job], events: Events) -> Iterator[RunRecord]:
        for job in jobs:
            data = self.cache.cut(job.spec)  # a data problem is the user's to fix: it stops the sweep
            events.started(job)
            yield execute(job.spec, data, on_epoch=functools.partial(events.epoch, job))
