"""The server side of browser sessions: which logins are still open.

The session cookie is signed, but a signature alone cannot be taken back: a cookie copied
before logout would work until it expires, also after a restart. So each login gets a random
session id, kept in the cookie and, as a digest, in ``web/sessions.json`` with its user, its
time and a fingerprint of the user's password hash. Every request checks its id there:

- logging out deletes the id, so the cookie is worthless from then on (also after a restart);
- a changed password (by any way: Users page, API, ``ixpctl``, a rollback) changes the
  fingerprint, which ends every session of that user at its next request;
- a removed user has no account to match.

The file holds only digests (nothing in it opens a session) and is readable by root only.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from appliance.util.atomic import atomic_write
from appliance.web.secrets_store import web_dir

MAX_SECONDS = 12 * 3600  # as auth.MAX_SECONDS: an older entry can never be used again
MAX_SESSIONS = 1000  # the oldest go first beyond this (every login adds one)
_LOCK = threading.Lock()


def _path(state_dir: Path) -> Path:
    return web_dir(state_dir) / "sessions.json"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def fingerprint(password_hash: str) -> str:
    """A short digest of a password hash: changes whenever the password does."""
    return _digest("session:" + password_hash)[:32]


@contextmanager
def _locked(state_dir: Path) -> Iterator[None]:
    # Threads of this process, and any other process (ixpctl) that ends sessions.
    directory = web_dir(state_dir)
    directory.mkdir(parents=True, exist_ok=True)
    with _LOCK:
        fd = os.open(directory / "sessions.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)


def _load(state_dir: Path) -> dict[str, dict[str, Any]]:
    try:
        rows = json.loads(_path(state_dir).read_text("utf-8"))
    except (FileNotFoundError, ValueError):
        return {}
    return rows if isinstance(rows, dict) else {}


def _save(state_dir: Path, rows: dict[str, dict[str, Any]]) -> None:
    atomic_write(_path(state_dir), json.dumps(rows, indent=1, sort_keys=True).encode(), 0o600)


def _fresh(rows: dict[str, dict[str, Any]], now: int) -> dict[str, dict[str, Any]]:
    live = {k: r for k, r in rows.items() if now - int(r.get("login_at", 0)) <= MAX_SECONDS}
    newest = sorted(live.items(), key=lambda kv: int(kv[1].get("login_at", 0)))[-MAX_SESSIONS:]
    return dict(newest)


def open_session(state_dir: Path, user: str, password_hash: str) -> str:
    """Record a new login of ``user``; returns the session id for the cookie."""
    sid = secrets.token_urlsafe(32)
    now = int(time.time())
    with _locked(state_dir):
        rows = _fresh(_load(state_dir), now)
        rows[_digest(sid)] = {"user": user, "login_at": now, "pw": fingerprint(password_hash)}
        _save(state_dir, rows)
    return sid


def is_open(state_dir: Path, sid: str, user: str, password_hash: str) -> bool:
    """True while the session ``sid`` of ``user`` has not been ended and the user's password
    is still the one it logged in with. A session whose password changed is ended here."""
    row = _load(state_dir).get(_digest(sid))
    if row is None or row.get("user") != user or \
            int(time.time()) - int(row.get("login_at", 0)) > MAX_SECONDS:
        return False
    if row.get("pw") != fingerprint(password_hash):
        end(state_dir, sid)
        return False
    return True


def end(state_dir: Path, sid: str) -> None:
    """End one session (logout)."""
    with _locked(state_dir):
        rows = _load(state_dir)
        if rows.pop(_digest(sid), None) is not None:
            _save(state_dir, rows)

