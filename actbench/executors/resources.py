"""The hardware a sweep may use: CPU cores, GPUs, and TensorFlow's thread pools for one worker's share."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from actbench.errors import ActbenchError

RUNS_PER_GPU = 2  # small models leave a GPU mostly idle: two runs share one, memory growing on demand
VISIBLE_GPUS = "CUDA_VISIBLE_DEVICES"  # the GPUs a process may use, by index; "-1" or empty: none


def cpu_count() -> int:
    """Cores this process may run on (a container's or taskset's limit, not the machine's total)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def gpu_ids() -> list[str]:
    """The GPUs visible to this process, without importing TensorFlow: VISIBLE_GPUS, else nvidia-smi."""
    visible = os.environ.get(VISIBLE_GPUS)
    if visible is not None:
        return [g for g in visible.split(",") if g.strip() and g.strip() != "-1"]
    if not shutil.which("nvidia-smi"):
        return []
    try:
        listing = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(i) for i, line in enumerate(listing.splitlines()) if line.startswith("GPU ")]


def memory_bytes() -> int | None:
    """The memory this process may use: the machine's, or its container's limit where that is lower
    (cgroup v2); None when neither can be read."""
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # not a POSIX system that reports it
        total = None
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
    except OSError:
        limit = "max"
    if limit.isdigit():
        return min(int(limit), total) if total else int(limit)
    return total


def worker_count(requested: str | None) -> int:
    """--workers: a number up to the cores, or `auto` (two runs per GPU where there are GPUs, else one per core)."""
    if requested is None:
        return 1
    if requested == "auto":
        gpus = gpu_ids()
        return max(1, min(cpu_count(), RUNS_PER_GPU * len(gpus))) if gpus else cpu_count()
    try:
        count = int(requested)
    except ValueError:
        count = 0
    if count < 1:
        raise ActbenchError(f"--workers {requested!r}: give a number of worker processes (1 or more) or 'auto'")
    cores = cpu_count()
    if count > cores:  # each worker starts a process that imports TensorFlow: hundreds would swamp the machine
        raise ActbenchError(
            f"--workers {count}: this machine lets actbench use {cores} CPU core{'s' if cores != 1 else ''}; "
            f"give at most {cores}, or 'auto'"
        )
    return count


def threads_per_worker(workers: int) -> int:
    return max(1, cpu_count() // workers)


def limit_tensorflow(threads: int, gpu: str | None) -> None:
    """In a fresh worker process, before TensorFlow starts: its thread pools, and its GPU (or none)."""
    if gpu is not None:
        os.environ[VISIBLE_GPUS] = gpu
    os.environ["TF_FORCE_GPU_ALLOW_GROWTH"] = "true"  # several runs can share one GPU's memory
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
