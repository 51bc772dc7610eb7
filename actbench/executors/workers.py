"""Runs in parallel worker processes on this machine, each with its share of the cores and, where there are GPUs, one GPU.

Workers are started with `spawn` (TensorFlow is not fork-safe) as soon as the sweep begins, so
they import TensorFlow while the driver plans and loads the data. spawn runs the parent's main
script again in each child, to find what the parent pickled by name; actbench's workers run only
actbench's functions, so they are started as from `python -c`, and a script that calls actbench.run
needs no `if __name__ == "__main__":` guard. The driver loads each dataset once and sends it to each
worker with its first pack of it; a worker keeps it, in its own TrainingContext, for every later
pack. Workers return records and write nothing; their epochs reach the live display through a queue
each. A worker that dies is replaced, and the runs it was training are tried again (the error policy
is in actbench/executors/base.py).
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import sys
import types
from collections import deque
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from actbench import resources
from actbench.config import RunSpec
from actbench.context import TrainingContext
from actbench.datasets import RawData
from actbench.datasets.cache import DataRequest
from actbench.executors.base import Events, Job, Pack, execute_pack, failed_record, prepare_worker_process
from actbench.results import RunRecord

EPOCHS_EVERY_S = 0.25  # how often the driver passes workers' finished epochs to the display


@dataclass
class _Worker:
    """What a worker process keeps from its start to its end: its sweep's context and its end of the
    queue its finished epochs go to. One per worker process, which lives for one sweep."""

    context: TrainingContext
    epochs: Any


_worker: _Worker | None = None  # set in the worker process by _start_worker


class Workers:
    def __init__(self, count: int, context: TrainingContext, retries: int) -> None:
        self.parallelism, self.context, self.retries = count, context, retries
        self.threads = resources.threads_per_worker(count)
        self.gpus = resources.gpu_ids()
        self._spawn = multiprocessing.get_context("spawn")
        self._slots: list[_Slot] = []

    def start(self) -> None:
        """Start every worker now: each imports TensorFlow (seconds) while the driver plans."""
        if not self._slots:
            self._slots = [self._slot(index) for index in range(self.parallelism)]

    def stop(self) -> None:
        """Ctrl-C, an error, or the end: nothing keeps training."""
        for slot in self._slots:
            slot.stop()
        self._slots = []

    def run(self, packs: Iterator[Pack], events: Events) -> Iterator[RunRecord]:
        # One single-process pool per slot: when a worker dies, only the pack it held is to blame
        # (one pool of N workers breaks as a whole, failing every run in flight).
        self.start()
        queued: deque[tuple[Pack, int]] = deque()  # runs to try again (alone), with their attempt count
        in_flight: dict[Future, tuple[Pack, int, int]] = {}  # future -> (pack, attempt, slot)
        try:
            while True:
                busy = {slot for _, _, slot in in_flight.values()}
                for slot in (index for index in range(self.parallelism) if index not in busy):
                    pack, attempt = queued.popleft() if queued else (next(packs, None), 0)
                    if pack is None:
                        break
                    in_flight[self._submit(slot, pack)] = (pack, attempt, slot)
                    if attempt == 0:
                        for job in pack.jobs:
                            events.started(job)
                if not in_flight:
                    return
                done, _ = wait(in_flight, timeout=EPOCHS_EVERY_S, return_when=FIRST_COMPLETED)
                self._pass_epochs({job.run_id: job for pack, _, _ in in_flight.values() for job in pack.jobs}, events)
                for future in done:
                    pack, attempt, slot = in_flight.pop(future)
                    try:
                        records = future.result()  # an ActbenchError raised in the worker stops the sweep here
                    except BrokenProcessPool:  # this slot's worker died while training this pack
                        self._slots[slot].stop()
                        self._slots[slot] = self._slot(slot)
                        if attempt < self.retries:
                            # Each run of a pack alone: a run that kills its process then takes no other run with it.
                            for job in pack.jobs:
                                queued.append((Pack((job,)), attempt + 1))
                                why = f"its worker process died; trying it again ({attempt + 1} of {self.retries})"
                                events.retrying(job, why)
                            continue
                        why = f"its worker process died {attempt + 1} times (killed, out of memory or crashed)"
                        records = [failed_record(job.spec, why) for job in pack.jobs]
                    yield from records
        finally:
            self.stop()

    def _submit(self, index: int, pack: Pack) -> Future:
        """Hand a pack to a slot's worker, with the dataset if that worker does not hold it yet."""
        slot, name, data = self._slots[index], pack.jobs[0].spec.dataset, {}
        if name not in slot.holds:
            data[name] = self.context.data.load(name)  # a data problem stops the sweep here
            slot.holds.add(name)
        return slot.pool.submit(_train, pack.specs, [job.run_id for job in pack.jobs], data)

    def _pass_epochs(self, running: dict[str, Job], events: Events) -> None:
        for slot in self._slots:
            while True:
                try:
                    run_id, epoch, row = slot.epochs.get_nowait()
                except queue.Empty:
                    break
                if run_id in running:
                    events.epoch(running[run_id], epoch, row)

    def _slot(self, index: int) -> _Slot:
        gpu = self.gpus[index % len(self.gpus)] if self.gpus else None
        # Ctrl-C stays blocked while the worker process is created and until it ignores Ctrl-C
        # itself: a worker still starting would die of it with a traceback. The driver gets the
        # pending signal as soon as it is unblocked again.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            epochs = self._spawn.Queue()  # one per worker: a worker killed mid-write jams only its own
            pool = ProcessPoolExecutor(
                1,
                mp_context=self._spawn,
                initializer=_start_worker,
                initargs=(self.threads, gpu, self.context.data.request, epochs),
            )
            with _without_main_script():
                pool.submit(int)  # the pool starts its process on the first task: start it now
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        return _Slot(pool, epochs)


@dataclass
class _Slot:
    """One worker process (in a pool of its own), the queue its epochs come back on, and the
    datasets it already holds."""

    pool: ProcessPoolExecutor
    epochs: Any
    holds: set[str] = field(default_factory=set)

    def stop(self) -> None:
        processes = list(getattr(self.pool, "_processes", {}).values())  # the pool keeps no public handle on them
        self.pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                process.kill()
        self.epochs.close()
        self.epochs.cancel_join_thread()  # what a killed worker left unread is of no use


def _start_worker(threads: int, gpu: str | None, request: DataRequest, epochs: Any) -> None:
    global _worker
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle: it stops the workers
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # so is SIGTERM, which a scheduler sends to every process of the job
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # blocked while this process started
    _die_with_parent()
    prepare_worker_process(threads, gpu)
    _worker = _Worker(TrainingContext(request), epochs)


def _train(specs: list[RunSpec], run_ids: list[str], data: dict[str, RawData]) -> list[RunRecord]:
    assert _worker is not None, "worker not initialised"
    worker = _worker
    worker.context.data.raw.update(data)
    return execute_pack(
        specs,
        worker.context.data.cut(specs[0]),
        worker.context,
        on_epoch=lambda index, epoch, row: worker.epochs.put((run_ids[index], epoch, row)),
    )


@contextmanager
def _without_main_script() -> Iterator[None]:
    """Within: this process looks as if started by `python -c` (a __main__ without a file or module
    name), so the processes spawn starts do not run the caller's script again; that re-run is what
    fails in a script without a `__main__` guard, or read from stdin (`python -`)."""
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


def _die_with_parent() -> None:
    """Linux: the kernel kills this worker when the driver dies, even by kill -9, so no orphan trains on."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() == 1:  # the driver died before prctl took effect
        os._exit(1)
