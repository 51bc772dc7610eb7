"""Runs in parallel worker processes on this machine, each with its share of the cores and, where there are GPUs, one GPU.

Workers are started with `spawn` (TensorFlow is not fork-safe), load each dataset once and keep
it for every run they train, and return records; they write nothing. A worker that dies (killed,
out of memory, a crash in native code) breaks the pool: the pool is rebuilt and every run that
was in flight is tried again, at most `retries` times each.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Iterator

from actbench.config import RunSpec
from actbench.datasets.cache import DataRequest, cache_for
from actbench.execute import RunRecord, execute, failed_record
from actbench.executors import Events, Job
from actbench.executors import resources

_request: DataRequest | None = None  # this worker's; cache_for keeps each dataset once per worker


class Workers:
    def __init__(self, count: int, request: DataRequest, retries: int) -> None:
        self.parallelism, self.request, self.retries = count, request, retries
        self.threads = resources.threads_per_worker(count)
        self.gpus = resources.gpu_ids()
        where = f", {len(self.gpus)} GPU(s) shared" if self.gpus else ""
        self.description = f"{count} worker processes, {self.threads} thread(s) each{where}"

    def run(self, jobs: Iterator[Job], events: Events) -> Iterator[RunRecord]:
        context = multiprocessing.get_context("spawn")
        counter = context.Value("i", 0)  # hands each new worker its index, for its GPU
        queue: deque[tuple[Job, int]] = deque()  # runs to try again, with their attempt count
        in_flight: dict[Future, tuple[Job, int, ProcessPoolExecutor]] = {}
        pool = self._pool(context, counter)
        try:
            while True:
                while len(in_flight) < self.parallelism:
                    job, attempt = queue.popleft() if queue else (next(jobs, None), 0)
                    if job is None:
                        break
                    try:
                        future = pool.submit(_train, job.spec)
                    except BrokenProcessPool:  # a worker died since the last look; its runs' futures say so
                        _stop(pool)
                        pool = self._pool(context, counter)
                        future = pool.submit(_train, job.spec)
                    in_flight[future] = (job, attempt, pool)
                    if attempt == 0:
                        events.started(job)
                if not in_flight:
                    return
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                broken = False
                for future in done:
                    job, attempt, submitted_to = in_flight.pop(future)
                    try:
                        yield future.result()
                    except BrokenProcessPool:
                        broken = broken or submitted_to is pool  # an older pool's news is already acted on
                        if attempt < self.retries:
                            queue.append((job, attempt + 1))
                        else:
                            yield failed_record(job.spec, f"its worker process died {attempt + 1} times (killed, out of memory or crashed)")
                if broken:
                    _stop(pool)
                    pool = self._pool(context, counter)
        finally:
            _stop(pool)  # Ctrl-C, an error, or the end: nothing keeps training

    def _pool(self, context: Any, counter: Any) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            self.parallelism,
            mp_context=context,
            initializer=_start_worker,
            initargs=(counter, self.threads, self.gpus, self.request),
        )


def _start_worker(counter: Any, threads: int, gpus: list[str], request: DataRequest) -> None:
    global _request
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle: it stops the workers
    _die_with_parent()
    with counter.get_lock():
        index, counter.value = counter.value, counter.value + 1
    resources.limit_tensorflow(threads, gpus[index % len(gpus)] if gpus else None)
    _request = request


def _train(spec: RunSpec) -> RunRecord:
    assert _request is not None, "worker not initialised"
    return execute(spec, cache_for(_request).cut(spec))


def _die_with_parent() -> None:
    """Linux: the kernel kills this worker when the driver dies, even by kill -9, so no orphan trains on."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() == 1:  # the driver died before prctl took effect
        os._exit(1)


def _stop(pool: ProcessPoolExecutor) -> None:
    processes = list(getattr(pool, "_processes", {}).values())  # the pool keeps no public handle on them
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.kill()
