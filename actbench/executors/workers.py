"""Runs in parallel worker processes on this machine, each with its share of the cores and, where there are GPUs, one GPU.

Workers are started with `spawn` (TensorFlow is not fork-safe) as soon as the sweep begins, so
they import TensorFlow while the driver plans and loads the data. The driver loads each dataset
once and sends it to each worker with its first run of it; a worker keeps it for every later run.
Workers return records and write nothing; their epochs reach the live display through a queue. A
worker that dies (killed, out of memory, a crash in native code) is replaced, and the run it was
training is tried again, at most `retries` times.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Iterator

from actbench.config import RunSpec
from actbench.datasets import RawData
from actbench.datasets.cache import DataRequest, cache_for
from actbench.execute import RunRecord, execute, failed_record
from actbench.executors import Events, Job
from actbench.executors import resources

EPOCHS_EVERY_S = 0.25  # how often the driver passes workers' finished epochs to the display

_request: DataRequest | None = None  # this worker's; cache_for keeps each dataset once per worker
_epochs: Any = None  # this worker's end of the queue its finished epochs go to


class Workers:
    def __init__(self, count: int, request: DataRequest, retries: int) -> None:
        self.parallelism, self.request, self.retries = count, request, retries
        self.threads = resources.threads_per_worker(count)
        self.gpus = resources.gpu_ids()
        self._context = multiprocessing.get_context("spawn")
        self._epochs: Any = None
        self._slots: list[ProcessPoolExecutor] = []
        self._sent: list[set[str]] = []  # per slot: the datasets its worker already holds

    def start(self) -> None:
        """Start every worker now: each imports TensorFlow (seconds) while the driver plans."""
        if not self._slots:
            self._epochs = self._context.Queue()
            for index in range(self.parallelism):
                self._slots.append(self._slot(index))
                self._sent.append(set())

    def stop(self) -> None:
        """Ctrl-C, an error, or the end: nothing keeps training."""
        for pool in self._slots:
            _stop(pool)
        self._slots, self._sent = [], []

    def run(self, jobs: Iterator[Job], events: Events) -> Iterator[RunRecord]:
        # One single-process pool per slot: when a worker dies, only the run it held is to blame
        # (one pool of N workers breaks as a whole, failing every run in flight).
        self.start()
        queued: deque[tuple[Job, int]] = deque()  # runs to try again, with their attempt count
        in_flight: dict[Future, tuple[Job, int, int]] = {}  # future -> (job, attempt, slot)
        try:
            while True:
                busy = {slot for _, _, slot in in_flight.values()}
                for slot in (index for index in range(self.parallelism) if index not in busy):
                    job, attempt = queued.popleft() if queued else (next(jobs, None), 0)
                    if job is None:
                        break
                    in_flight[self._submit(slot, job)] = (job, attempt, slot)
                    if attempt == 0:
                        events.started(job)
                if not in_flight:
                    return
                done, _ = wait(in_flight, timeout=EPOCHS_EVERY_S, return_when=FIRST_COMPLETED)
                self._pass_epochs({job.run_id: job for job, _, _ in in_flight.values()}, events)
                for future in done:
                    job, attempt, slot = in_flight.pop(future)
                    try:
                        yield future.result()
                    except BrokenProcessPool:  # this slot's worker died while training this run
                        _stop(self._slots[slot])
                        self._slots[slot], self._sent[slot] = self._slot(slot), set()
                        if attempt < self.retries:
                            queued.append((job, attempt + 1))
                        else:
                            yield failed_record(job.spec, f"its worker process died {attempt + 1} times (killed, out of memory or crashed)")
        finally:
            self.stop()

    def _submit(self, slot: int, job: Job) -> Future:
        """Hand a run to a slot's worker, with the dataset if that worker does not hold it yet."""
        name, data = job.spec.dataset, {}
        if name not in self._sent[slot]:
            data[name] = cache_for(self.request).load(name)  # a data problem stops the sweep here
            self._sent[slot].add(name)
        return self._slots[slot].submit(_train, job.spec, job.run_id, data)

    def _pass_epochs(self, running: dict[str, Job], events: Events) -> None:
        while True:
            try:
                run_id, epoch, row = self._epochs.get_nowait()
            except queue.Empty:
                return
            if run_id in running:
                events.epoch(running[run_id], epoch, row)

    def _slot(self, index: int) -> ProcessPoolExecutor:
        gpu = self.gpus[index % len(self.gpus)] if self.gpus else None
        pool = ProcessPoolExecutor(1, mp_context=self._context, initializer=_start_worker, initargs=(self.threads, gpu, self.request, self._epochs))
        pool.submit(int)  # the pool starts its process on the first task: start it now
        return pool


def _start_worker(threads: int, gpu: str | None, request: DataRequest, epochs: Any) -> None:
    global _request, _epochs
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle: it stops the workers
    _die_with_parent()
    resources.limit_tensorflow(threads, gpu)
    _request, _epochs = request, epochs


def _train(spec: RunSpec, run_id: str, data: dict[str, RawData]) -> RunRecord:
    assert _request is not None, "worker not initialised"
    cache = cache_for(_request)
    cache.raw.update(data)
    return execute(spec, cache.cut(spec), on_epoch=lambda epoch, row: _epochs.put((run_id, epoch, row)))


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
