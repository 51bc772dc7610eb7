"""Claims: two `actbench run` invocations on the same experiment folder never train the same run.

Before a run is handed to an executor the driver creates `claims/<run_id>` exclusively (a hard
link, which is atomic and fails if the name exists), holding its host, pid and start time, and
removes it once the run's record is written. A claim whose holder is gone does not block
forever: on the same host a dead pid frees it at once; from another host (a shared filesystem) it
is free once its holder has not refreshed it for STALE_AFTER_S (a live driver touches its claims
every REFRESH_S). A dead holder's claim is taken over under a lock on the claims folder, judging
the holder again inside it, so two invocations that find the same dead claim cannot both win
(tests/test_claims.py races four at a time, twenty times). Claims are written through
results/storage.py, so a full disk or a read-only folder is one error line, not a traceback.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from actbench.errors import ActbenchError
from actbench.results.storage import guarded, remove, write_atomic

STALE_AFTER_S = 600
REFRESH_S = 60


class Claims:
    def __init__(self, exp_dir: Path) -> None:
        self.folder = exp_dir / "claims"
        self.held: set[str] = set()
        self.me = {"host": socket.gethostname(), "pid": os.getpid()}
        self._stop = threading.Event()
        self._refresher = threading.Thread(target=self._refresh, name="claims-refresh", daemon=True)

    def __enter__(self) -> Claims:
        self._refresher.start()
        return self

    def __exit__(self, kind: object, *exc: object) -> None:
        self._stop.set()
        errors = []
        for run_id in list(self.held):
            try:
                self.release(run_id)
            except ActbenchError as error:
                errors.append(error)
        # A claim left behind is taken over by the next invocation (its holder is gone); it is an
        # error only on an otherwise clean exit: after Ctrl-C or an error, that one is what the user sees.
        if errors and kind is None:
            raise errors[0]

    def take(self, run_id: str) -> bool:
        """True when this process now holds the run; False while another live process does.

        A claim that cannot be written (a full disk, a folder made read-only) is one ActbenchError
        naming the file, with nothing half-written left behind."""
        path = self.folder / run_id
        # The claim is written in full under a private name, then linked to its real name: link is
        # atomic and fails if the name exists, so no other process ever reads a half-written claim.
        draft = self.folder / f".{run_id}.{self.me['host']}.{self.me['pid']}"
        write_atomic(draft, json.dumps({**self.me, "since": time.time()}))
        try:
            if not _link(draft, path):
                with self._takeover_lock():  # flock: released by the kernel if this process dies
                    if not self._holder_is_gone(path):
                        return False
                    remove(path)
                    if not _link(draft, path):  # a plain take got in first: that one holds it
                        return False
            self.held.add(run_id)
            return True
        finally:
            remove(draft)

    @contextmanager
    def _takeover_lock(self) -> Iterator[None]:
        lock_path = self.folder / ".takeover.lock"
        with guarded(lock_path):
            lock = open(lock_path, "a")  # noqa: SIM115 - opened under the guard, closed by the `with` below
        with lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def release(self, run_id: str) -> None:
        self.held.discard(run_id)
        remove(self.folder / run_id)

    def holder(self, run_id: str) -> str:
        try:
            data = json.loads((self.folder / run_id).read_text())
            return f"pid {data['pid']} on {data['host']}"
        except (OSError, ValueError, KeyError):
            return "another actbench"

    def _holder_is_gone(self, path: Path) -> bool:
        try:
            data = json.loads(path.read_text())
            age = time.time() - path.stat().st_mtime
        except FileNotFoundError:
            return True  # released meanwhile
        except (OSError, ValueError):
            return False  # unreadable: leave it (claims are complete when they appear), try next time
        if data.get("host") == self.me["host"]:
            pid = int(data.get("pid", 0))
            return pid == self.me["pid"] or not _alive(pid)  # our own pid: left by an earlier process
        return age > STALE_AFTER_S

    def _refresh(self) -> None:
        while not self._stop.wait(REFRESH_S):
            for run_id in list(self.held):
                with contextlib.suppress(OSError):
                    os.utime(self.folder / run_id)


def _link(draft: Path, path: Path) -> bool:
    with guarded(path):
        try:
            os.link(draft, path)
        except FileExistsError:
            return False
    return True


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True
