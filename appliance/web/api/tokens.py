"""API tokens: shown once when made, stored only as a SHA-256 digest, tied to a user."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from appliance.util.atomic import atomic_write


@dataclass(frozen=True)
class Token:
    """A stored token (never the secret itself)."""

    id: str
    name: str
    user: str
    digest: str
    created: str


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


def create(state_dir: Path, name: str, user: str) -> str:
    """Make a token for ``user``; returns the secret, which is never shown again."""
    token_id = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    rows = [*load(state_dir), Token(token_id, name, user, _digest(secret),
                                    datetime.now(UTC).isoformat(timespec="seconds"))]
    atomic_write(_path(state_dir), json.dumps([asdict(r) for r in rows], indent=1).encode(),
                 0o600)
    return f"ixp_{token_id}_{secret}"


def revoke(state_dir: Path, token_id: str) -> bool:
    """Delete a token; True if it existed."""
    rows = load(state_dir)
    keep = [r for r in rows if r.id != token_id]
    atomic_write(_path(state_dir), json.dumps([asdict(r) for r in keep], indent=1).encode(),
                 0o600)
    return len(keep) != len(rows)


def check(state_dir: Path, presented: str) -> str | None:
    """The user a presented token belongs to, or None."""
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != "ixp":
        return None
    for row in load(state_dir):
        if row.id == parts[1] and hmac.compare_digest(row.digest, _digest(parts[2])):
            return row.user
    return None
