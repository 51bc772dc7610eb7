"""Keep TensorFlow's C++ start-up notices off the terminal, and everything else on it.

Since TensorFlow 2.21, `TF_CPP_MIN_LOG_LEVEL` no longer silences the lines its native libraries
print through absl while `import tensorflow` runs, before logging is initialised (oneDNN and CUDA
notices, CPU features; on a machine without a GPU, unless the level hides E lines, a `failed call
to cuInit` error when the devices are first listed). They go straight to file descriptor 2, where
Python cannot catch them, and tear a live progress display.

So the import itself is filtered, synchronously: `filter_tensorflow_start_up` puts a finder on
`sys.meta_path` that, when TensorFlow is first imported (by actbench, or by a config's own activation
module), points descriptor 2 at a temporary file while TensorFlow's module executes and lists its
devices, then points it back and writes every line but the notices to the real stderr. At any other
moment descriptor 2 is the process's own: no pipe, no thread, nothing that an exit could cut short.
Real errors (any other E, W or F line, Python warnings and tracebacks) pass through unchanged.
"""

from __future__ import annotations

import importlib.abc
import os
import re
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any

# absl's prefix: severity letter, MMDD, time, thread id, file:line]. I lines are informational.
_ABSL_INFO = re.compile(rb"^I\d{4} [\d:. ]+\d+ \S+:\d+\] ")
_NOISE = (
    re.compile(rb"^WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"),
    re.compile(rb"^To enable the following instructions: .* rebuild TensorFlow with the appropriate compiler flags\."),
    # No GPU on this machine is not an error for actbench: it trains on the CPU.
    re.compile(rb"^E\d{4} [\d:. ]+\d+ cuda_(platform|executor)\.cc:\d+\] failed call to cuInit"),
)


def quiet_tensorflow() -> None:
    """Before anything imports TensorFlow: its C++ logging below errors off. A user who wants it back
    sets the variable themselves; the lines printed before logging starts need filter_tensorflow_start_up."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def is_noise(line: bytes) -> bool:
    return bool(_ABSL_INFO.match(line)) or any(pattern.match(line) for pattern in _NOISE)


def filter_tensorflow_start_up() -> None:
    """From now on, TensorFlow's first import in this process prints no start-up notices (idempotent;
    nothing to do once it is imported). For processes whose stderr is actbench's: the command line's,
    worker processes'."""
    if "tensorflow" in sys.modules or any(isinstance(finder, _TensorFlowFinder) for finder in sys.meta_path):
        return
    sys.meta_path.insert(0, _TensorFlowFinder())


@contextmanager
def start_up_filtered() -> Iterator[None]:
    """Within: descriptor 2 writes to a temporary file (a pipe with no reader would fill up and block).
    After, also when the block raises: descriptor 2 is itself again, and what was written to it, less
    the start-up notices, is written to it in order."""
    sys.stderr.flush()
    real_stderr = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(real_stderr, 2)
            os.close(real_stderr)
            captured.seek(0)
            kept = b"".join(line for line in captured.read().splitlines(keepends=True) if not is_noise(line))
            if kept:
                _write_all(2, kept)


def _write_all(descriptor: int, data: bytes) -> None:
    while data:
        data = data[os.write(descriptor, data) :]


class _TensorFlowFinder(importlib.abc.MetaPathFinder):
    """Finds nothing itself: on `import tensorflow` it leaves sys.meta_path and hands back the spec the
    other finders give, with a loader that runs the module inside start_up_filtered."""

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None) -> Any:
        if fullname != "tensorflow":
            return None
        if self in sys.meta_path:  # a second thread importing it at once finds it in sys.modules
            sys.meta_path.remove(self)
        for finder in sys.meta_path:
            spec = finder.find_spec(fullname, path, target) if hasattr(finder, "find_spec") else None
            if spec is not None and spec.loader is not None:
                spec.loader = _FilteredLoader(spec.loader)
                return spec
        return None


class _FilteredLoader(importlib.abc.Loader):
    """TensorFlow's own loader, its module executed inside start_up_filtered (and, where E lines are
    shown, its devices listed: CUDA's probe prints its cuInit error then); the module keeps its own loader."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        module.__loader__ = self.loader
        if module.__spec__ is not None:
            module.__spec__.loader = self.loader
        with start_up_filtered():
            self.loader.exec_module(module)
            if _shows_errors():
                module.config.list_physical_devices()


def _shows_errors() -> bool:
    """Whether TensorFlow's C++ logging lets E lines through (TF_CPP_MIN_LOG_LEVEL below 3)."""
    level = os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0")
    return not level.isdigit() or int(level) < 3
