"""Runs as Ray Core tasks: on a private local instance (`local`), the cluster this machine belongs to (`auto`), or one at an address.

Ray is an optional extra (`pip install 'actbench[ray]'`), imported only here. The driver loads
each dataset cut once and puts it into Ray's object store, so workers need no copy of the data
and no shared filesystem; each task returns its record to the driver, which alone writes
results/. Ray retries a task whose worker or node died (`max_retries`); the error policy is in
actbench/executors/base.py. A Ray worker process keeps one TrainingContext across the tasks it
runs (the trainers a next pack of the same structure trains on), replaced when another sweep's tasks come.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from actbench import resources
from actbench.config import RunSpec, run_id
from actbench.context import TrainingContext
from actbench.datasets import Dataset
from actbench.datasets.cache import DataRequest, cut_key
from actbench.errors import ActbenchError
from actbench.executors.base import Events, Pack, execute_pack, failed_record, one_line_error, prepare_worker_process
from actbench.results import RunRecord

CPUS_PER_RUN = 1  # small models barely use a second core; more runs side by side is faster
QUEUE_PER_SLOT = 2  # tasks submitted per free slot, so a worker never waits for the driver
STARTS_EVERY_S = 0.25  # how often the driver passes tasks that started on to the display

_context: TrainingContext | None = None  # this Ray worker process's, for the sweep whose tasks it runs


class RayCluster:
    def __init__(
        self,
        address: str,
        context: TrainingContext,
        retries: int,
        train: Callable[..., list[RunRecord]] | None = None,
    ) -> None:
        self.address, self.context, self.retries = address, context, retries
        self.train = train or _train  # benchmarks/bench_driver.py swaps in a stub to time the driver alone
        self.parallelism = 1  # known once connected
        self.local_cpus: int | None = None  # a local instance's logical CPUs: this machine's cores unless set
        self._ray: Any = None  # the ray module, once connected

    def start(self) -> None:
        """Connect now, so the sweep's time left is shared among the cluster's CPUs from the start."""
        if self._ray is None:
            ray = _import_ray()
            self._connect(ray)
            self._ray = ray
            self.parallelism = max(1, int(ray.cluster_resources().get("CPU", 1) // CPUS_PER_RUN))

    def stop(self) -> None:
        if self._ray is not None:
            self._ray.shutdown()
            self._ray = None

    def run(self, packs: Iterator[Pack], events: Events) -> Iterator[RunRecord]:
        self.start()
        ray = self._ray
        try:
            gpus_per_run = 1 / resources.RUNS_PER_GPU if ray.cluster_resources().get("GPU", 0) else 0
            task = ray.remote(num_cpus=CPUS_PER_RUN, num_gpus=gpus_per_run, max_retries=self.retries)(
                _report_start_then_train
            )
            yield from self._dispatch(ray, task, packs, events)
        finally:
            self.stop()

    def _connect(self, ray: Any) -> None:
        options: dict[str, Any] = {"logging_level": logging.WARNING, "log_to_driver": False, "include_dashboard": False}
        if self.address == "local":
            # A private instance: its notices (e.g. that token authentication is on) concern nobody.
            options.update(
                address="local", num_cpus=self.local_cpus or resources.cpu_count(), logging_level=logging.ERROR
            )
        else:
            options.update(address=self.address)
        try:
            ray.init(**options)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise ActbenchError(
                f"--ray {self.address}: cannot connect ({' '.join(str(exc).split())[:200]}); start a head with "
                "`ray start --head`, or use --ray local for a private instance on this machine"
            ) from None

    def _dispatch(self, ray: Any, task: Any, packs: Iterator[Pack], events: Events) -> Iterator[RunRecord]:
        from ray.util.queue import Queue

        stored: dict[str, Any] = {}  # cut key -> the dataset's ObjectRef, put once
        in_flight: dict[Any, Pack] = {}
        alone: deque[Pack] = deque()  # the runs of a pack whose task died, to try again one by one
        # Tasks are queued ahead of free CPUs (QUEUE_PER_SLOT): each says on this queue when it
        # really starts, so the display shows what trains, not what waits.
        starts = Queue(actor_options={"num_cpus": 0})
        shown: set[str] = set()

        def show(job: Any) -> None:
            if job.run_id not in shown:  # a retried task starts again: shown once
                shown.add(job.run_id)
                events.started(job)

        try:
            while True:
                while len(in_flight) < QUEUE_PER_SLOT * self.parallelism:
                    pack = alone.popleft() if alone else next(packs, None)
                    if pack is None:
                        break
                    key = cut_key(pack.jobs[0].spec)
                    if key not in stored:
                        stored[key] = ray.put(self.context.data.cut(pack.jobs[0].spec))
                    request = self.context.data.request
                    in_flight[task.remote(self.train, starts, pack.specs, stored[key], request, CPUS_PER_RUN)] = pack
                if not in_flight:
                    return
                ready, _ = ray.wait(list(in_flight), num_returns=1, timeout=STARTS_EVERY_S)
                running = {job.run_id: job for pack in in_flight.values() for job in pack.jobs}
                for run_ids in starts.get_nowait_batch(starts.qsize()):
                    for run_id in run_ids:
                        if run_id in running:
                            show(running[run_id])
                if not ready:
                    continue
                pack = in_flight.pop(ready[0])
                for job in pack.jobs:  # its start came too late to be seen first
                    show(job)
                try:
                    records = ray.get(ready[0])
                except (
                    ray.exceptions.RayTaskError
                ) as exc:  # the task raised: execute_pack lets only an ActbenchError out
                    if isinstance(exc.cause, ActbenchError):
                        raise exc.cause from None  # stops the sweep, with its own one line
                    why = f"Ray task failed: {one_line_error(exc.cause or exc)}"
                    records = [failed_record(job.spec, why) for job in pack.jobs]
                except ray.exceptions.RayError as exc:  # its worker or node died, every retry too
                    if len(pack.jobs) > 1:  # a run that kills its process then takes no other run with it
                        for job in pack.jobs:
                            alone.append(Pack((job,)))
                            events.retrying(job, "its Ray task died; trying each run of its pack again alone")
                        continue
                    why = f"Ray task failed after {self.retries} retries: {type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
                    records = [failed_record(job.spec, why) for job in pack.jobs]
                yield from records
        finally:
            for ref in in_flight:  # Ctrl-C or an error: stop what is still training
                ray.cancel(ref, force=True)
            starts.shutdown()


def _report_start_then_train(
    train: Callable[..., list[RunRecord]],
    starts: Any,
    specs: list[RunSpec],
    data: Dataset,
    request: DataRequest,
    threads: int,
) -> list[RunRecord]:
    starts.put([run_id(spec) for spec in specs])
    return train(specs, data, request, threads)


def _train(specs: list[RunSpec], data: Dataset, request: DataRequest, threads: int) -> list[RunRecord]:
    global _context
    prepare_worker_process(threads, gpu=None)  # Ray sets CUDA_VISIBLE_DEVICES for the task itself
    if _context is None or _context.data.request != request:
        if _context is not None:
            _context.close()
        _context = TrainingContext(request)
    return execute_pack(specs, data, _context)


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ActbenchError("--ray needs Ray: pip install 'actbench[ray]'") from None
    return ray
