"""API tokens: shown once when made, stored only as a SHA-256 digest, tied to a user.

Each token has a scope and an expiry:

- scope ``read``: GET only; ``admin``: whatever its user's role allows (a viewer's token
  still only reads);
- ``expires``: made with ``DEFAULT_DAYS`` (one year) unless asked otherwise; an expired token
  is refused with a message that says so.

Tokens made before scopes and expiry existed have neither: they keep working as before (scope
``admin``, no expiry) and the Users page shows them as "no expiry", to be replaced.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from appliance.util.atomic import atomic_write

SCOPES = ("read", "admin")
DEFAULT_DAYS = 365
LIFETIMES = (30, 90, 365)  # what the Users page offers, in days
_LOCK = threading.Lock()  # creates and revokes read, change and write the whole file


@dataclass(frozen=True)
class Token:
    """A stored token (never the secret itself)."""

    id: str
    name: str
    user: str
    digest: str
    created: str
    expires: str | None = None  # ISO time (UTC); None: made before tokens expired
    scope: str = "admin"

    def expired(self, now: datetime | None = None) -> bool:
        """True once the token's expiry has passed."""
        if self.expires is None:
            return False
        return (now or datetime.now(UTC)) >= datetime.fromisoformat(self.expires)


class TokenRefused(Exception):
    """A presented token cannot be used; the message says why and what to do."""


def _path(state_dir: Path) -> Path:
    return state_dir / "web" / "api-tokens.json"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def load(state_dir: Path) -> list[Token]:
    """Every token."""
    try:
        rows = json.loads(_path(state_dir).read_text("utf-8"))
        return [Token(**r) for r in rows]
    except (FileNotFoundError, ValueError, TypeError):
        return []


def _save(state_dir: Path, rows: list[Token]) -> None:
    atomic_write(_path(state_dir), json.dumps([asdict(r) for r in rows], indent=1).encode(),
                 0o600)


def create(state_dir: Path, name: str, user: str, *, scope: str = "admin",
           days: int = DEFAULT_DAYS) -> str:
    """Make a token for ``user``; returns the secret, which is never shown again."""
    if scope not in SCOPES:
        raise ValueError(f"scope: choose one of {', '.join(SCOPES)}, not {scope!r}")
    if not 1 <= days <= 3650:
        raise ValueError(f"days: a token lasts 1 to 3650 days, not {days}")
    token_id = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    row = Token(token_id, name, user, _digest(secret), now.isoformat(timespec="seconds"),
                (now + timedelta(days=days)).isoformat(timespec="seconds"), scope)
    with _LOCK:
        _save(state_dir, [*load(state_dir), row])
    return f"ixp_{token_id}_{secret}"


def revoke(state_dir: Path, token_id: str) -> bool:
    """Delete a token; True if it existed."""
    with _LOCK:
        rows = load(state_dir)
        keep = [r for r in rows if r.id != token_id]
        _save(state_dir, keep)
    return len(keep) != len(rows)


def authenticate(state_dir: Path, presented: str) -> Token:
    """The stored token a presented one matches; ``TokenRefused`` when none does or it has
    expired."""
    parts = presented.split("_", 2)
    if len(parts) == 3 and parts[0] == "ixp":
        for row in load(state_dir):
            if row.id == parts[1] and hmac.compare_digest(row.digest, _digest(parts[2])):
                if row.expired():
                    raise TokenRefused(f"the token '{row.name}' expired on {row.expires}; make "
                                       "a new one on the Users page")
                return row
    raise TokenRefused("the token is not valid; make one on the Users page")

