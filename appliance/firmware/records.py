"""What an update leaves on the data partition (shared by both slots), under ``firmware/``.

- ``pending.json``: an update installed and not yet judged: from and to which version, the
  slot it went to, the BGP sessions Established before it, the health gate's bound, and, once
  the new system found itself unhealthy, why. The gate of the next boot reads it.
- ``last.json``: the outcome of the last update (succeeded, or failed and rolled back with
  the reason), shown on the dashboard and the Firmware page.
- ``progress.json``: a running update's step, for the Firmware page to follow.
- ``incoming/``: bundles uploaded through the Firmware page, waiting for the confirmation.
Each file is written atomically: a power cut leaves the old one or the new one.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from appliance.util.atomic import atomic_write

DIR = "firmware"
PENDING, LAST, PROGRESS, INCOMING = "pending.json", "last.json", "progress.json", "incoming"
# {slot: version} as root last read them (the web UI, a user of its own, cannot read a slot's
# block device; the gate writes it at every boot, an install when it has written a slot)
SLOTS = "slots.json"


def folder(state_dir: Path) -> Path:
    """``<state>/firmware``, made if missing."""
    path = Path(state_dir) / DIR
    path.mkdir(parents=True, exist_ok=True)
    return path


def read(state_dir: Path, name: str) -> dict[str, Any] | None:
    """One record, or None when there is none (or it cannot be read)."""
    try:
        data = json.loads((Path(state_dir) / DIR / name).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write(state_dir: Path, name: str, data: dict[str, Any]) -> None:
    """Write one record atomically (and durably: the box may reboot right after)."""
    atomic_write(folder(state_dir) / name, json.dumps(data, indent=1).encode(), 0o644)


def remove(state_dir: Path, name: str) -> None:
    """Forget one record."""
    (Path(state_dir) / DIR / name).unlink(missing_ok=True)


def progress(state_dir: Path, step: str, message: str, percent: int | None = None,
             *, done: bool = False, ok: bool = True) -> None:
    """Record a running update's step for the Firmware page."""
    write(state_dir, PROGRESS, {"step": step, "message": message, "percent": percent,
                                "done": done, "ok": ok, "at": time.time()})
