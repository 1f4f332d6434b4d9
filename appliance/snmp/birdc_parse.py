"""Parse BIRD 2's ``show protocols all`` into ``BgpPeer`` records (BGP protocols only)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from appliance.snmp.bgp_model import BgpPeer

# "as64496_v4 BGP  ---  up  2026-11-23 20:21:27  Established" (iso long) or "... 20:21:27.123"
_HEADER = re.compile(
    r"^(?P<name>\S+)\s+(?P<proto>\S+)\s+(?P<table>\S+)\s+(?P<state>up|down|start|stop|flush)\s+"
    r"(?P<since>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?|\S+)\s*(?P<info>.*)$")
_FIELD = re.compile(r"^\s+(?P<key>[A-Za-z][A-Za-z0-9 ]*?):\s+(?P<value>.*?)\s*$")
_STATS = re.compile(r"^\s+(?P<kind>Import|Export) (?P<what>updates|withdraws):\s+(?P<cols>.*)$")
_STATES = {"down": "idle", "idle": "idle", "connect": "connect", "active": "active",
           "opensent": "opensent", "openconfirm": "openconfirm",
           "established": "established", "close": "idle", "passive": "active"}


def parse_since(text: str, now: datetime | None = None) -> datetime | None:
    """BIRD's time column: ISO ``YYYY-MM-DD HH:MM:SS`` or today's ``HH:MM:SS[.mmm]``."""
    now = now or datetime.now()
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            pass
    for fmt in ("%H:%M:%S", "%H:%M:%S.%f"):
        try:
            t = datetime.strptime(text, fmt).time()
        except ValueError:
            continue
        when = datetime.combine(now.date(), t)
        # BIRD shows only the time for changes within the last day: a time later than now
        # happened yesterday.
        return when - timedelta(days=1) if when > now else when
    return None


def _stats_cols(text: str) -> list[int]:
    return [int(x) if x.isdigit() else 0 for x in text.split()]


def parse_show_protocols_all(text: str, now: datetime | None = None
                             ) -> list[BgpPeer]:
    """Every BGP protocol in the output, in order."""
    peers: list[BgpPeer] = []
    block: dict[str, object] | None = None

    def flush() -> None:
        if block is not None and block["proto"] == "BGP" and "Neighbor address" in block:
            peers.append(_peer(block))

    for line in text.splitlines():
        head = _HEADER.match(line)
        if head and not line.startswith((" ", "\t")):
            flush()
            block = {**head.groupdict(), "in": 0, "out": 0,
                     "since_dt": parse_since(head.group("since"), now)}
            continue
        if block is None:
            continue
        stats = _STATS.match(line)
        if stats:
            cols = _stats_cols(stats.group("cols"))
            # Columns: received rejected filtered ignored accepted. In: what the peer sent;
            # out: what was accepted by the export filter, i.e. sent to the peer.
            if stats.group("kind") == "Import" and cols:
                block["in"] = int(block["in"]) + cols[0]
            elif stats.group("kind") == "Export" and cols:
                block["out"] = int(block["out"]) + cols[-1]
            continue
        fld = _FIELD.match(line)
        if fld and fld.group("key") not in block:
            block[fld.group("key")] = fld.group("value")
    flush()
    return peers


def _int(value: object, default: int = 0) -> int:
    try:
        return int(str(value).split("/")[-1].split(".")[0])
    except (TypeError, ValueError):
        return default


def _peer(b: dict[str, object]) -> BgpPeer:
    bgp_state = str(b.get("BGP state", b.get("info", ""))).split()
    state = _STATES.get(bgp_state[0].lower(), "idle") if bgp_state else "idle"
    return BgpPeer(
        name=str(b["name"]),
        remote_address=str(b["Neighbor address"]).split("%")[0],
        remote_as=_int(b.get("Neighbor AS")),
        state=state,
        admin_up=b["state"] != "down",
        local_address=str(b["Source address"]) if "Source address" in b else None,
        local_as=_int(b.get("Local AS")) or None,
        remote_id=str(b["Neighbor ID"]) if "Neighbor ID" in b else None,
        description=str(b.get("Description", "")),
        in_updates=int(b["in"]),  # type: ignore[arg-type]
        out_updates=int(b["out"]),  # type: ignore[arg-type]
        since=b["since_dt"],  # type: ignore[arg-type]
        hold_time=_int(b.get("Hold timer")),
        keepalive=_int(b.get("Keepalive timer")),
        last_error=str(b.get("Last error", "")),
    )
