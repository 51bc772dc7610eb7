"""Keep TensorFlow's C++ start-up notices off the terminal, and everything else on it.

Since TensorFlow 2.21, `TF_CPP_MIN_LOG_LEVEL` no longer silences the lines its native libraries
print through absl before logging is initialised (oneDNN and CUDA notices, CPU features, and on a
machine without a GPU a `failed call to cuInit` error); they come twice per process, straight to
file descriptor 2, and tear a live progress display. Python cannot catch them at the `sys.stderr`
level, so `filter_native_stderr` points descriptor 2 at a pipe and a thread copies every line to
the real stderr except those notices. Real errors (any other E, W or F line, Python tracebacks)
pass through unchanged.
"""

from __future__ import annotations

import atexit
import os
import re
import select
import sys
import threading

# absl's prefix: severity letter, MMDD, time, thread id, file:line]. I lines are informational.
_ABSL_INFO = re.compile(rb"^I\d{4} [\d:. ]+\d+ \S+:\d+\] ")
_NOISE = (
    re.compile(rb"^WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"),
    re.compile(rb"^To enable the following instructions: .* rebuild TensorFlow with the appropriate compiler flags\."),
    # No GPU on this machine is not an error for actbench: it trains on the CPU.
    re.compile(rb"^E\d{4} [\d:. ]+\d+ cuda_(platform|executor)\.cc:\d+\] failed call to cuInit"),
)

_installed = False


def quiet_tensorflow() -> None:
    """Before anything imports TensorFlow: its C++ start-up chatter (CUDA probing, CPU feature notes)
    off. A user who wants it back sets the variable themselves; the earliest lines need filter_native_stderr."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def is_noise(line: bytes) -> bool:
    return bool(_ABSL_INFO.match(line)) or any(pattern.match(line) for pattern in _NOISE)


def filter_native_stderr() -> None:
    """Route descriptor 2 through the filter for the rest of the process (idempotent).

    Only where Python's own stderr is descriptor 2: under a test runner that captures sys.stderr,
    the process's descriptors are not ours to rewire.
    """
    global _installed
    if _installed or not _stderr_is_descriptor_2():
        return
    _installed = True
    sys.stderr.flush()
    real_stderr = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)
    finished = threading.Event()
    copier = threading.Thread(target=_copy, args=(read_end, real_stderr, finished), name="stderr-filter", daemon=True)
    copier.start()

    def restore() -> None:
        # The copier writes out what is left, then stops. It cannot wait for the end of the stream:
        # child processes (workers, multiprocessing's resource tracker, Ray) hold the pipe open.
        sys.stderr.flush()
        os.dup2(real_stderr, 2)
        finished.set()
        copier.join(timeout=2)

    atexit.register(restore)


def _stderr_is_descriptor_2() -> bool:
    try:
        return sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):
        return False


def _copy(read_end: int, real_stderr: int, finished: threading.Event) -> None:
    with os.fdopen(read_end, "rb", buffering=0) as source:
        pending = b""
        while True:
            readable, _, _ = select.select([source], [], [], 0.1)
            if not readable:
                if finished.is_set():  # drained, and nothing more is coming from this process
                    break
                continue
            chunk = source.read(65536)
            if not chunk:  # every writer closed the pipe
                break
            pending += chunk
            *lines, pending = pending.split(b"\n")
            kept = b"".join(line + b"\n" for line in lines if not is_noise(line))
            if kept:
                os.write(real_stderr, kept)
        if pending and not is_noise(pending):
            os.write(real_stderr, pending)
