"""Unix socket paths that fit the kernel's limit wherever the state directory lives."""

from __future__ import annotations

import hashlib
from pathlib import Path

# sun_path holds 108 bytes with the terminating NUL; a longer path is cut silently by some
# daemons (unbound then binds a truncated name it never removes, and refuses the next start).
MAX_SOCKET_PATH = 100
SHORT_DIR = Path("/run/ixp-appliance/sockets")


def socket_path(path: Path) -> Path:
    """``path`` itself when it is short enough, else a short stand-in under ``/run``.

    The stand-in is named after a hash of the full path, so the same state directory always
    gets the same socket and two state directories never share one.
    """
    if len(str(path).encode()) <= MAX_SOCKET_PATH:
        return path
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:16]
    SHORT_DIR.mkdir(parents=True, exist_ok=True, mode=0o700)
    return SHORT_DIR / f"{digest}-{path.name}"
