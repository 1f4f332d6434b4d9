"""Keep a long-running process's resident memory near what it really holds (issue 14: the
appliance's own processes together within 150 MB with 1000 members, on a 1 GB box).

glibc's malloc gives every thread that allocates its own arena (up to eight per core) and
keeps what was freed in each for later; the web UI's request threads and the collector's and
agent's worker threads so hold many MiB that no object uses any more. One arena, and handing
freed memory back after a big one-off parse, keep the process at its working size. Both are
glibc's (Debian's); elsewhere they do nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc

_M_TRIM_THRESHOLD = -1
_M_ARENA_MAX = -8
# Freed memory above this at the top of the heap goes back to the kernel at once (glibc's
# default lets it grow to 32 MiB once a large block was freed).
TRIM_THRESHOLD = 128 * 1024

_libc: ctypes.CDLL | bool | None = False  # False: not looked up yet; None: not glibc


def _glibc() -> ctypes.CDLL | None:
    global _libc
    if _libc is False:
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            _libc = libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None
        except OSError:
            _libc = None
    return _libc  # type: ignore[return-value]


def lean_malloc() -> bool:
    """One malloc arena for every thread and a low trim threshold, for this process; call it
    first thing, before any thread starts. False where the C library is not glibc."""
    libc = _glibc()
    if libc is None:
        return False
    ok = libc.mallopt(_M_ARENA_MAX, 1) == 1
    return bool(libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1 and ok)


def release_freed(*, collect: bool = True) -> None:
    """Collect unreachable objects and give the C heap's free pages back to the kernel: after
    a big parse whose temporaries are gone (the 1000-member configuration). ``collect=False``
    only trims (cheap: for a hook that runs after every change a web request makes)."""
    if collect:
        gc.collect()
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
