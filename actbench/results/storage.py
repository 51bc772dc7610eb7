"""Files written so that a reader or a crash never sees half of one: atomic replace, and JSON with sorted keys."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from actbench.errors import ActbenchError


def write_atomic(path: Path, content: str | bytes) -> None:
    """Write to a temporary file in the same folder, fsync, then rename: readers never see half a file.

    A failed write (a full disk, a folder made read-only) leaves the old file as it was and becomes
    one ActbenchError naming the path.
    """
    data = content.encode("utf-8") if isinstance(content, str) else content
    temporary = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o666 & ~_UMASK)  # mkstemp makes it owner-only; results are ordinary files
        os.replace(temporary, path)
    except BaseException as exc:
        if temporary and os.path.exists(temporary):
            os.unlink(temporary)
        if isinstance(exc, OSError):
            raise ActbenchError(
                f"{path}: cannot write ({exc.strerror or exc}); free some space or choose another --results-dir; "
                "runs that finished before are kept"
            ) from None
        raise


def ensure_writable(results_root: Path) -> None:
    """Refuse, before anything trains, a results folder that is a file or cannot be written."""
    if results_root.exists() and not results_root.is_dir():
        raise ActbenchError(f"--results-dir {results_root}: is a file, not a folder; pass a folder")
    try:
        results_root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=results_root):
            pass
    except OSError as exc:
        raise ActbenchError(f"--results-dir {results_root}: cannot write there ({exc.strerror or exc}); pass a folder you can write to") from None


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def write_json(path: Path, data: Any) -> None:
    write_atomic(path, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))
