"""The route server's drain (RFC 8326 initiated by the route server).

While a drain is on, every route the route server sends carries GRACEFUL_SHUTDOWN (65535:0),
so the members move their traffic to other paths before the sessions go down: before the
reboot of a firmware update, or on its own (``ixpctl rs drain``) before a manual reboot.

The drain is a state of the box, not of its configuration: a small file in the state dir,
``route_server/drain.json``, with the time it ends. The route-server concern reads it
(``RouteServerConcern.from_state``) and renders bird.conf with the drain on; a drain is
started or ended by re-applying the committed revision, the usual pipeline, so BIRD gets it
through its safe ``configure`` with no new revision. An expired file counts as no drain, so
a box that reboots during a drain never comes back drained.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from appliance.util.atomic import atomic_write

DRAIN_FILE = "route_server/drain.json"
DEFAULT_SECONDS = 30


@dataclass(frozen=True)
class Drain:
    """A drain that is on: until when, and why."""

    until: float
    reason: str

    def seconds_left(self, now: float) -> float:
        """How long it still lasts."""
        return max(0.0, self.until - now)


def current(state_dir: Path, now: float | None = None) -> Drain | None:
    """The drain in force in ``state_dir``, or None (no file, an expired or unreadable one)."""
    path = Path(state_dir) / DRAIN_FILE
    try:
        data = json.loads(path.read_text())
        drain = Drain(float(data["until"]), str(data.get("reason", "")))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return drain if drain.until > (time.time() if now is None else now) else None


def write(state_dir: Path, seconds: float, reason: str, now: float | None = None) -> Drain:
    """Record a drain of ``seconds`` from now (applying it is the caller's re-apply)."""
    if seconds <= 0:
        raise ValueError("a drain lasts a positive number of seconds")
    drain = Drain((time.time() if now is None else now) + seconds, reason)
    path = Path(state_dir) / DRAIN_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, json.dumps({"until": drain.until, "reason": reason}).encode(), 0o644)
    return drain


def clear(state_dir: Path) -> bool:
    """Forget the drain (applying that is the caller's re-apply); True if there was one."""
    path = Path(state_dir) / DRAIN_FILE
    existed = path.exists()
    path.unlink(missing_ok=True)
    return existed
