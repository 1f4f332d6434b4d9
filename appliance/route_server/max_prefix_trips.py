"""Max-prefix trips: when a member sent more routes than its limit, kept for the dashboard.

BIRD says so only in the session's state (``Last error: Route limit exceeded`` once the
session went down for ``restart``/``disable``, ``[HIT]`` on the channel for ``block``) and in
its log, and forgets it when the session comes back. The status code reads the sessions
anyway; :func:`record` turns what it sees into trips (time, member, family, limit, routes)
kept in a small JSON file in the state directory, newest last, for the status page and,
later, alerts. A trip is recorded when the status is read (dashboard, /metrics, looking
glass), once per trip.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from appliance.platform.bird.replies import Protocol
from appliance.util.atomic import atomic_write

TRIPS_FILE = Path("route_server") / "max_prefix_trips.json"
KEEP = 200  # trips kept; older ones are dropped (BIRD's log has them)
LIMIT_ERROR = "route limit exceeded"


@dataclass(frozen=True)
class Trip:
    """One max-prefix trip of one session."""

    time: str  # when BIRD saw it (the session's state change, BIRD's time format)
    session: str
    asn: int | None
    member: str
    family: str
    limit: int | None  # the receive limit that was exceeded
    routes: int | None  # routes held when it tripped (block); None once the session went down
    action: str  # "block" (session stays up) or "down" (restart / disable)
    key: str  # identifies the trip, so that reading the state twice records it once


def trips_path(state_dir: Path) -> Path:
    """Where the trips are kept."""
    return Path(state_dir) / TRIPS_FILE


def load_trips(state_dir: Path) -> list[dict[str, Any]]:
    """The recorded trips, oldest first; empty when none (or the file is unreadable)."""
    try:
        data = json.loads(trips_path(state_dir).read_text("utf-8"))
    except (OSError, ValueError):
        return []
    trips = data.get("trips") if isinstance(data, dict) else None
    return [t for t in trips or [] if isinstance(t, dict)]


def detect(p: Protocol) -> tuple[str, str, int | None, int | None] | None:
    """(key, action, limit, routes) when ``p`` shows a max-prefix trip now, else None."""
    limit = next((c.receive_limit for c in p.channels if c.receive_limit is not None), None)
    error = (p.details.get("Last error", "") + " " + p.info).lower()
    if LIMIT_ERROR in error and not p.established:
        # restart / disable: down for it, with this error until it is established again.
        return f"{p.name}|down", "down", limit, None
    hit = [c for c in p.channels if c.limit_hit]
    if hit:
        # block: the session stays up and the channel shows [HIT] while over the limit.
        return f"{p.name}|block", "block", hit[0].receive_limit, \
            sum(c.imported + c.filtered for c in hit)
    return None


def record(state_dir: Path, seen: list[tuple[Protocol, int | None, str, str]]) -> list[Trip]:
    """Record the trips among ``seen`` (protocol, ASN, member name, family) not yet recorded.

    Returns the new trips. Writing is best effort: a reader without write access to the
    state directory still gets its status, the trip is then recorded by the next reader.
    """
    path = trips_path(state_dir)
    known = load_trips(state_dir)
    try:
        raw = json.loads(path.read_text("utf-8"))
        open_keys = set(raw.get("open", [])) if isinstance(raw, dict) else set()
    except (OSError, ValueError):
        open_keys = set()
    now_open: set[str] = set()
    new: list[Trip] = []
    for p, asn, member, family in seen:
        found = detect(p)
        if found is None:
            continue
        key, action, limit, routes = found
        now_open.add(key)
        if key in open_keys:
            continue
        new.append(Trip(p.since, p.name, asn, member, family, limit, routes, action, key))
    if not new and now_open == open_keys:
        return []
    trips = (known + [asdict(t) for t in new])[-KEEP:]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, json.dumps({"open": sorted(now_open), "trips": trips},
                                      indent=1).encode("utf-8"), 0o644)
    except OSError:
        return []
    return new
