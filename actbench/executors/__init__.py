"""Where runs train: in this process (Serial), in worker processes on this machine (Workers) or in Ray
tasks (RayCluster), each behind the seam of base.py (packs in, events and RunRecords out), each under
the error policy stated there. Neither executors nor the training they call write results: the driver
does, so it stays the only writer of results/.

Every executor takes packs lazily from an iterator (the driver claims each pack's runs as it hands it
out) and yields a RunRecord per run as its pack completes, in completion order.
"""

from __future__ import annotations

from actbench.context import TrainingContext
from actbench.executors.base import Events, Executor, Job, Pack, execute_pack, failed_record, one_line_error
from actbench.executors.ray_cluster import RayCluster
from actbench.executors.serial import Serial
from actbench.executors.workers import Workers

__all__ = [
    "Events",
    "Executor",
    "Job",
    "Pack",
    "RayCluster",
    "Serial",
    "Workers",
    "execute_pack",
    "failed_record",
    "one_line_error",
    "pick_executor",
]


def pick_executor(workers: int, ray_address: str | None, context: TrainingContext, retries: int) -> Executor:
    """The executor asked for: a Ray cluster at `ray_address`, else `workers` worker processes (1: serial)."""
    if ray_address is not None:
        return RayCluster(ray_address, context, retries)
    if workers == 1:
        return Serial(context)
    return Workers(workers, context, retries)
