"""The hardware a sweep may use: CPU cores, GPUs and memory, read here and nowhere else (no TensorFlow)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from actbench.errors import ActbenchError, named

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
    total = _sysconf_bytes("SC_PHYS_PAGES")
    limit = _cgroup_bytes("memory.max")
    return min(filter(None, (total, limit)), default=None)


def available_memory_bytes() -> int | None:
    """What is free for this process now: the machine's free memory, or what its container's limit
    leaves beside the container's use where that is lower; None when neither can be read."""
    free = _sysconf_bytes("SC_AVPHYS_PAGES")
    limit, used = _cgroup_bytes("memory.max"), _cgroup_bytes("memory.current")
    left = limit - used if limit is not None and used is not None else limit
    return min((value for value in (free, left) if value is not None), default=None)


def _sysconf_bytes(pages: str) -> int | None:
    try:
        return os.sysconf(pages) * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # not a POSIX system that reports it
        return None


def _cgroup_bytes(name: str) -> int | None:
    """A cgroup v2 memory figure of this process's container ("max": no limit), or None."""
    try:
        value = (Path("/sys/fs/cgroup") / name).read_text().strip()
    except OSError:
        return None
    return int(value) if value.isdigit() else None


def worker_count(requested: str | int | None, where: str = "--workers") -> int:
    """--workers (or a program's `workers=`) as a count: None one, `auto` two runs per GPU where there
    are GPUs, else one per core, N up to the cores; an error names `where` the value came from."""
    if requested is None:
        return 1
    if requested == "auto":
        gpus = gpu_ids()
        return max(1, min(cpu_count(), RUNS_PER_GPU * len(gpus))) if gpus else cpu_count()
    try:
        count = int(requested)
    except (TypeError, ValueError):
        count = 0
    if count < 1 or isinstance(requested, bool) or (isinstance(requested, float) and requested != count):
        raise ActbenchError(f"{named(where, requested)}: give a number of worker processes (1 or more) or 'auto'")
    cores = cpu_count()
    if count > cores:  # each worker starts a process that imports TensorFlow: hundreds would swamp the machine
        raise ActbenchError(
            f"{named(where, count)}: this machine lets actbench use {cores} CPU core{'s' if cores != 1 else ''}; "
            f"give at most {cores}, or 'auto'"
        )
    return count


def threads_per_worker(workers: int) -> int:
    return max(1, cpu_count() // workers)
