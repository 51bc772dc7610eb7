"""Runs in parallel worker processes on this machine, each with its share of the cores and, where there are GPUs, one GPU.

Workers are started with `spawn` (TensorFlow is not fork-safe), load each dataset once and keep
it for every run they train, and return records; they write nothing. A worker that dies (killed,
out of memory, a crash in native code) is replaced, and the run it was training is tried again,
at most `retries` times.
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

    def run(self, jobs: Iterator[Job], events: Events) -> Iterator[RunRecord]:
        # One single-process pool per slot: when a worker dies, only the run it held is to blame
        # (one pool of N workers breaks as a whole, failing every run in flight).
        context = multiprocessing.get_context("spawn")
        slots = [self._slot(context, index) for index in range(self.parallelism)]
        queue: deque[tuple[Job, int]] = deque()  # runs to try again, with their attempt count
        in_flight: dict[Future, tuple[Job, int, int]] = {}  # future -> (job, attempt, slot)
        try:
            while True:
                busy = {slot for _, _, slot in in_flight.values()}
                for slot in (index for index in range(self.parallelism) if index not in busy):
                    job, attempt = queue.popleft() if queue else (next(jobs, None), 0)
                    if job is None:
                        break
                    in_flight[slots[slot].submit(_train, job.spec)] = (job, attempt, slot)
                    if attempt == 0:
                        events.started(job)
                if not in_flight:
                    return
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    job, attempt, slot = in_flight.pop(future)
                    try:
                        yield future.result()
                    except BrokenProcessPool:  # this slot's worker died while training this run
                        _stop(slots[slot])
                        slots[slot] = self._slot(context, slot)
                        if attempt < self.retries:
                            queue.append((job, attempt + 1))
                        else:
                            yield failed_record(job.spec, f"its worker process died {attempt + 1} times (killed, out of memory or crashed)")
        finally:
            for pool in slots:  # Ctrl-C, an error, or the end: nothing keeps training
                _stop(pool)

    def _slot(self, context: Any, index: int) -> ProcessPoolExecutor:
        gpu = self.gpus[index % len(self.gpus)] if self.gpus else None
        return ProcessPoolExecutor(1, mp_context=context, initializer=_start_worker, initargs=(self.threads, gpu, self.request))


def _start_worker(threads: int, gpu: str | None, request: DataRequest) -> None:
    global _request
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle: it stops the workers
    _die_with_parent()
    resources.limit_tensorflow(threads, gpu)
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
