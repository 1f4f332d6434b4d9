"""Secrets the web app keeps on the box: the session key and the one-time setup code.

Both are made on the box (never baked into an image) and readable by root only.
"""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path

from appliance.util.atomic import atomic_write

# No 0/O, 1/I/L: the code is read off a console screen and typed on a laptop.
_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def web_dir(state_dir: Path) -> Path:
    """Where the web app's own state lives."""
    return state_dir / "web"


def session_key(state_dir: Path) -> bytes:
    """The key that signs session cookies; made once, kept across restarts."""
    path = web_dir(state_dir) / "secret_key"
    try:
        key = path.read_bytes()
        if len(key) >= 32:
            return key
    except FileNotFoundError:
        pass
    key = secrets.token_bytes(32)
    atomic_write(path, key, 0o600)
    return key


def _code_path(state_dir: Path) -> Path:
    return web_dir(state_dir) / "setup-code"


def setup_code(state_dir: Path) -> str:
    """The one-time setup code, made on first use (the console and `ixpctl` show it)."""
    path = _code_path(state_dir)
    try:
        code = path.read_text().strip()
        if code:
            return code
    except FileNotFoundError:
        pass
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(12))
    code = f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"
    atomic_write(path, (code + "\n").encode(), 0o600)
    return code


def setup_code_matches(state_dir: Path, attempt: str) -> bool:
    """Compare in constant time; spaces, dashes and case do not matter."""
    path = _code_path(state_dir)
    if not path.exists():
        return False
    want = setup_code(state_dir).replace("-", "")
    given = "".join(ch for ch in attempt.upper() if ch.isalnum())
    return hmac.compare_digest(want.encode(), given.encode())


def retire_setup_code(state_dir: Path) -> None:
    """Setup is done: the code must never work again."""
    _code_path(state_dir).unlink(missing_ok=True)
