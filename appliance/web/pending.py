"""A change an admin prepared in the UI, waiting for review: one per user, kept on the box."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from appliance.util.atomic import atomic_write


def _path(state_dir: Path, user: str) -> Path:
    safe = re.sub(r"[^a-z0-9_.-]", "_", user)
    return state_dir / "web" / "pending" / f"{safe}.json"


def save(state_dir: Path, user: str, data: dict[str, Any], comment: str, back: str,
         edit: str = "") -> None:
    """Keep ``data`` (the whole candidate configuration) for ``user``'s review.

    ``back`` is where Discard leads; ``edit`` (optional) is the form that made the change,
    which the review's "Edit" button reopens with the candidate's values.
    """
    payload = {"config": yaml.safe_dump(data, sort_keys=False, allow_unicode=True),
               "comment": comment, "back": back, "edit": edit}
    atomic_write(_path(state_dir, user), json.dumps(payload).encode("utf-8"), 0o600)


def load(state_dir: Path, user: str) -> dict[str, str] | None:
    """The pending change of ``user``, if any."""
    try:
        data = json.loads(_path(state_dir, user).read_text("utf-8"))
        return data if isinstance(data, dict) else None
    except (FileNotFoundError, ValueError):
        return None


def clear(state_dir: Path, user: str) -> None:
    """Drop ``user``'s pending change."""
    _path(state_dir, user).unlink(missing_ok=True)
