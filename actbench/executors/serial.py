"""Runs one pack after another in this process, on the sweep's own context: the default executor."""

from __future__ import annotations

import functools
from collections.abc import Iterator

from actbench.context import TrainingContext
from actbench.executors.base import Events, Job, Pack, execute_pack
from actbench.results import RunRecord


class Serial:
    parallelism = 1

    def __init__(self, context: TrainingContext) -> None:
        self.context = context

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def run(self, packs: Iterator[Pack], events: Events) -> Iterator[RunRecord]:
        for pack in packs:
            data = self.context.data.cut(pack.jobs[0].spec)  # a data problem (ActbenchError) stops the sweep here
            for job in pack.jobs:
                events.started(job)
            on_epoch = functools.partial(epoch_of, events, pack.jobs)
            yield from execute_pack(pack.specs, data, self.context, on_epoch=on_epoch)


def epoch_of(events: Events, jobs: tuple[Job, ...], index: int, epoch: int, row: dict[str, float]) -> None:
    """A pack's epoch (its run's index in the pack) as the event of that run's job."""
    events.epoch(jobs[index], epoch, row)
