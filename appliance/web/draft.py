"""The setup wizard's draft: what was entered so far, kept on the box (root-only) until applied."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from appliance.util.atomic import atomic_write


def _path(state_dir: Path) -> Path:
    return state_dir / "web" / "wizard-draft.json"


def load(state_dir: Path) -> dict[str, Any]:
    """The draft, or an empty one."""
    try:
        data = json.loads(_path(state_dir).read_text("utf-8"))
        return data if isinstance(data, dict) else {}
    except (FileNotFoundError, ValueError):
        return {}


def save(state_dir: Path, data: dict[str, Any]) -> None:
    """Store the draft atomically (it may hold a password hash: owner-only)."""
    atomic_write(_path(state_dir), json.dumps(data, indent=1).encode("utf-8"), 0o600)


def clear(state_dir: Path) -> None:
    """Forget the draft (after a successful apply)."""
    _path(state_dir).unlink(missing_ok=True)
