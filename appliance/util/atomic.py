"""Writes that survive power loss: the file holds either the old or the new bytes, never half."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

TMP_MARK = ".tmp-"


def fsync_dir(path: Path) -> None:
    """Make a rename or unlink inside ``path`` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: str | Path, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` via a synced temporary file renamed over it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}{TMP_MARK}{os.getpid()}-{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    fsync_dir(path.parent)


def remove_stale_temporaries(directory: Path) -> int:
    """Delete temporaries left by a writer that died; call only while holding the lock."""
    removed = 0
    if not directory.is_dir():
        return 0
    for p in directory.rglob(f"*{TMP_MARK}*"):
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
            removed += 1
    return removed


def give_to_folder_owner(path: Path) -> None:
    """As root, hand ``path`` to the owner of its folder when that is another user.

    On the image a daemon running as its own user owns its folders (ixp-service-dirs); root
    writing there too (the web UI, ``ixpctl``) would otherwise leave a file that daemon can
    no longer replace or lock. Anywhere the folder is root's (the lab, the tests) this does
    nothing.
    """
    if os.geteuid() != 0:
        return
    with contextlib.suppress(FileNotFoundError, PermissionError):
        folder = path.parent.stat()
        st = path.stat()
        if folder.st_uid != 0 and (st.st_uid, st.st_gid) != (folder.st_uid, folder.st_gid):
            os.chown(path, folder.st_uid, folder.st_gid)
