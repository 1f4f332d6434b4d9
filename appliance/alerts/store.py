"""Open and past alerts and the delivery log, kept in the state directory.

Two small JSON files under ``alerts/`` (``platform/target.py``): ``state.json`` (what
``rules.evaluate`` keeps: pending, open and the newest past alerts) and ``deliveries.json``
(each delivery tried, newest last, and the queue of those to try again). Each is replaced
whole through a synced temporary file (``util/atomic.py``), so a crash or a power cut leaves
the old file or the new one; both are bounded. Read-modify-write goes under a lock, as the
collector and a test message from the page can write the log at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from appliance.alerts.rules import empty_state
from appliance.platform.target import Target
from appliance.util.atomic import atomic_write, give_to_folder_owner

log = logging.getLogger(__name__)

LOG_KEEP = 300  # delivery attempts kept
QUEUE_KEEP = 200  # deliveries waiting for a retry; the oldest are dropped beyond that


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        # a damaged file must not stop the collector: start afresh, and say so
        log.error("alerts: %s is unreadable (%s): starting afresh", path, exc)
        return None
    return data if isinstance(data, dict) else None


def _write(path: Path, data: dict[str, Any]) -> None:
    # 0600: webhook payloads and alert texts name members; on the image the directory is the
    # collector's (it runs the engine as ixp-collector), and a file root writes (a test
    # delivery from the web UI) is handed to it, or its next round could not replace it
    atomic_write(path, (json.dumps(data, indent=1, sort_keys=True) + "\n").encode(), 0o600)
    give_to_folder_owner(path)


class AlertStore:
    """The alert files of one state directory."""

    def __init__(self, state_dir: Path) -> None:
        self.target = Target(Path(state_dir))

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the alert files' lock (an flock; the kernel drops it on any exit)."""
        self.target.alerts_dir.mkdir(parents=True, exist_ok=True)
        with open(self.target.alerts_dir / "lock", "a") as fh:
            give_to_folder_owner(self.target.alerts_dir / "lock")
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def state(self) -> dict[str, Any]:
        """The rules' state (empty before the first round)."""
        data = _read(self.target.alerts_state)
        if data is None:
            return empty_state()
        base = empty_state()
        base.update({k: v for k, v in data.items() if k in base})
        return base

    def save_state(self, state: dict[str, Any]) -> None:
        """Replace the rules' state."""
        _write(self.target.alerts_state, state)

    def deliveries(self) -> dict[str, Any]:
        """``{"log": [...], "queue": [...]}``."""
        data = _read(self.target.alerts_deliveries) or {}
        return {"log": list(data.get("log") or []), "queue": list(data.get("queue") or [])}

    def save_deliveries(self, data: dict[str, Any]) -> None:
        """Replace the delivery log and queue, bounded."""
        _write(self.target.alerts_deliveries, {"log": data["log"][-LOG_KEEP:],
                                                "queue": data["queue"][-QUEUE_KEEP:]})

    def record(self, entry: dict[str, Any]) -> None:
        """Add one delivery to the log."""
        with self.locked():
            data = self.deliveries()
            data["log"].append(entry)
            self.save_deliveries(data)
