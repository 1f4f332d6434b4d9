"""The anycast helper's state as plain data for the dashboard, SNMP, /metrics and ``ixpctl``.

The helper (``service.py``) publishes it every few seconds; readers never talk to the helper.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path

STATUS_FILE = "run/anycast/status.json"  # in a folder of its own: the helper may own it


def write_status(state_dir: Path, checkers: list[dict[str, object]], *,
                 running: bool = True) -> None:
    """Publish the state. Not fsynced: it is rewritten every few seconds and means nothing
    after a power loss."""
    path = Path(state_dir) / STATUS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    # the PID: the helper's start waits for its own (service.start)
    doc = {"updated_at": time.time(), "running": running, "pid": os.getpid(),
           "checkers": checkers}
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(json.dumps(doc, indent=1))
    tmp.replace(path)


def read_status(state_dir: Path, *, stale_after: float = 30.0,
                now: float | None = None) -> dict[str, object]:
    """The published state; ``running`` is false when the helper stopped or went quiet."""
    now = time.time() if now is None else now
    try:
        doc = json.loads((Path(state_dir) / STATUS_FILE).read_text())
    except (OSError, ValueError):
        return {"running": False, "updated_at": None, "checkers": []}
    fresh = now - float(doc.get("updated_at") or 0) <= stale_after
    doc["running"] = bool(doc.get("running")) and fresh
    doc["updated_at"] = datetime.fromtimestamp(float(doc.get("updated_at") or 0),
                                               UTC).isoformat(timespec="seconds")
    return doc
