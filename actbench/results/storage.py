"""Every write actbench makes goes through here: files atomically replaced (a reader or a crash never sees half
of one), removals and folders guarded, so that a full disk or a folder made read-only is one line naming the
path and its fix, never a traceback; and JSON with sorted keys."""

from __future__ import annotations

import errno
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from actbench.errors import ActbenchError

# What to do besides fixing the place itself, where the write is into a results folder.
RESULTS_ADVICE = "or pass another --results-dir; finished runs are kept and repeating the command resumes the rest"
_FIXES = {
    errno.ENOSPC: "free some space",
    errno.EDQUOT: "free some space (the disk quota is full)",
    errno.EACCES: "make it writable",
    errno.EPERM: "make it writable",
    errno.EROFS: "remount it writable",
    errno.ENOTDIR: "a file stands where a folder must be: move it away",
    errno.EEXIST: "a file stands where a folder must be: move it away",
    errno.EISDIR: "a folder stands where a file must be: move it away",
}


@contextmanager
def guarded(path: Path | str, advice: str = RESULTS_ADVICE) -> Iterator[None]:
    """Any OSError inside becomes one ActbenchError naming `path` (a file, folder or URI), why, and the fix."""
    try:
        yield
    except OSError as exc:
        fix = _FIXES.get(exc.errno or 0, "fix that")
        raise ActbenchError(f"{path}: cannot write ({exc.strerror or exc}); {fix}, {advice}") from None


def write_atomic(path: Path, content: str | bytes, advice: str = RESULTS_ADVICE) -> None:
    """Write to a temporary file in the same folder, fsync, then rename: readers never see half a file.

    A failed write (a full disk, a folder made read-only) leaves the old file as it was, no temporary
    file behind, and becomes one ActbenchError naming the path.
    """
    data = content.encode("utf-8") if isinstance(content, str) else content
    with guarded(path, advice):
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.chmod(temporary, 0o666 & ~_UMASK)  # mkstemp makes it owner-only; results are ordinary files
            os.replace(temporary, path)
        except BaseException:
            with guarded(path, advice):  # even the clean-up can fail (the folder made read-only meanwhile)
                Path(temporary).unlink(missing_ok=True)
            raise


def remove(path: Path, advice: str = RESULTS_ADVICE) -> None:
    """Delete a file if it exists; failing to is one ActbenchError naming it."""
    with guarded(path, advice):
        path.unlink(missing_ok=True)


def ensure_writable(folder: Path, option: str = "--results-dir") -> None:
    """Refuse, before any work, a folder (given by `option`) that is a file or cannot be written."""
    if folder.exists() and not folder.is_dir():
        raise ActbenchError(f"{option} {folder}: is a file, not a folder; pass a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise ActbenchError(
            f"{option} {folder}: cannot write there ({exc.strerror or exc}); pass a folder you can write to"
        ) from None


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def write_json(path: Path, data: Any) -> None:
    write_atomic(path, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))
