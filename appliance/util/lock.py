"""One change at a time per state directory (an flock, released by the kernel on any exit)."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class LockBusy(RuntimeError):
    """Another process holds the state directory's lock."""


@contextmanager
def state_lock(state_dir: Path, timeout: float = 30.0) -> Iterator[None]:
    """Hold ``state_dir/lock`` exclusively; raise ``LockBusy`` after ``timeout`` seconds."""
    state_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(state_dir / "lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockBusy(
                        f"another change is being applied in {state_dir}; wait for it to finish"
                    ) from None
                time.sleep(0.1)
        yield
    finally:
        os.close(fd)  # closing releases the flock
