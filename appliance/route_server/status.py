"""The route server's status as plain data: every session with its member, state and routes.

Read by the dashboard, the looking glass, /metrics, the collector and ``ixpctl status`` over
BIRD's control socket with the lean query (no pexpect), so resident processes stay small.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from appliance.platform.bird import query
from appliance.platform.bird.replies import BirdError, Protocol, parse_status
from appliance.route_server import max_prefix_trips

# The model only for the web UI's callers: the collector passes the members from its own
# rendered file (issue 14: the model's modules are some 22 MiB of a resident process).
if TYPE_CHECKING:
    from appliance.config.model import IXPConfig


class Member(NamedTuple):
    """Who a session's neighbor address belongs to."""

    asn: int
    name: str


def members_by_address(cfg: IXPConfig) -> dict[str, Member]:
    """Every member address of ``cfg`` (as BIRD writes it) with its member."""
    return {str(a): Member(m.asn, m.name) for m in cfg.members for a in (*m.ipv4, *m.ipv6)}


def route_server_sessions(state_dir: Path, cfg: IXPConfig | Mapping[str, Member]
                          ) -> dict[str, Any]:
    """Every BGP session of the route server with its member, state and route counts.

    ``cfg`` is the configuration, or already its ``members_by_address``.
    """
    ctl = query.route_server_socket(state_dir)
    if not ctl.exists():
        return {"running": False, "sessions": []}
    try:
        protocols = query.protocols(ctl, kinds={"BGP"})
        version = parse_status(query.query(ctl, "show status", timeout=10)).version
    except (BirdError, OSError):
        return {"running": False, "sessions": []}
    by_address = cfg if isinstance(cfg, Mapping) else members_by_address(cfg)
    sessions = []
    seen: list[tuple[Protocol, int | None, str, str]] = []
    for p in protocols:
        if p.proto != "BGP":
            continue
        neighbor = p.details.get("Neighbor address", "").split("%")[0]
        member = by_address.get(neighbor)
        family = "ipv6" if neighbor and ipaddress.ip_address(neighbor).version == 6 else "ipv4"
        sessions.append({
            "protocol": p.name, "neighbor": neighbor, "family": family,
            "asn": member.asn if member else None, "member": member.name if member else "",
            "state": p.info.split()[0] if p.info else p.state, "up": p.established,
            "since": p.since, "accepted": p.routes("imported"),
            "filtered": p.routes("filtered"), "exported": p.routes("exported"),
            "limit_hit": any(c.limit_hit for c in p.channels),
            "limit": next((c.receive_limit for c in p.channels if c.receive_limit), None),
        })
        seen.append((p, member.asn if member else None, member.name if member else "", family))
    sessions.sort(key=lambda s: (s["asn"] or 0, s["family"]))
    max_prefix_trips.record(state_dir, seen)
    trips = max_prefix_trips.load_trips(state_dir)
    for s in sessions:
        mine = [t for t in trips if t.get("session") == s["protocol"]]
        s["trips"] = len(mine)
        s["last_trip"] = mine[-1].get("time") if mine else None
    return {"running": True, "version": version, "sessions": sessions,
            "max_prefix_trips": trips}


def data_freshness(state_dir: Path, cfg: IXPConfig, now: float | None = None
                   ) -> dict[str, Any]:
    """How old the route server's IRR and PeeringDB data is, whether it is stale, and how the
    last refresh went: ``{"irr": {...}, "peeringdb": {...}, "stale_after_seconds": n,
    "refresh": {...}}``, each source with ``present``, ``age_seconds`` (since the data was
    last fetched or confirmed unchanged), ``stale`` (older than ``route_server.refresh.
    stale_days``), ``last_attempt``, ``last_success`` and ``error`` (the last attempt's
    failure). The alerts read ``stale``; the dashboard and the Data page show the rest.
    """
    import time as _time
    from datetime import UTC, datetime

    from appliance.route_server import refresh
    from appliance.route_server.irr_fetch import load_cache
    from appliance.route_server.peeringdb import dump_path, load_never_via_rs

    now_dt = datetime.fromtimestamp(_time.time() if now is None else now, UTC)
    settings = cfg.route_server.refresh
    state = refresh.read_state(state_dir)
    limit = settings.stale_days * 86400
    try:
        irr = load_cache(Path(state_dir) / refresh.IRR_CACHE)
    except (OSError, ValueError):
        irr = None
    entries = [irr.for_member(m) for m in cfg.members] if irr else []
    times = [refresh.parse_time(e.fetched_at) for e in entries if e is not None]
    irr_time = min((t for t in times if t), default=None) if times else None
    pdb = load_never_via_rs(dump_path(state_dir))
    data_times = {"irr": (bool(times), irr_time),
                  "peeringdb": (pdb.as_of is not None and pdb.problem is None,
                                refresh.parse_time(pdb.as_of))}
    out: dict[str, Any] = {"stale_after_seconds": limit, "refresh": {
        "enabled": settings.enabled, "irr_hours": settings.irr_hours,
        "peeringdb_hours": settings.peeringdb_hours, "last": state.get("last")}}
    for source, (present, data_time) in data_times.items():
        rec = state.get(source) or {}
        success = refresh.parse_time(rec.get("succeeded"))
        newest = max((t for t in (data_time, success) if t), default=None) if present \
            else None
        age = (now_dt - newest).total_seconds() if newest else None
        out[source] = {"present": present, "age_seconds": age,
                       "stale": age is not None and age > limit,
                       "last_attempt": rec.get("attempted"), "last_success": rec.get("succeeded"),
                       "error": rec.get("error")}
    return out


_ROUTE_COUNT = re.compile(r"^(\d+) of \d+ routes", re.M)


def rtr_sessions(state_dir: Path) -> dict[str, Any]:
    """The route server's RTR connections (``protocol rpki``) and the ROAs it holds.

    What an import or a validator elsewhere actually gave BIRD: ``running`` False when BIRD
    does not answer; each session with its cache, BIRD's status word ("Established",
    "Transport-Error", ...) and whether it is up; the ROA tables' sizes.
    """
    ctl = query.route_server_socket(state_dir)
    if not ctl.exists():
        return {"running": False, "sessions": [], "roas": {}}
    try:
        try:
            protocols = query.protocols(ctl, kinds={"RPKI"}, names="rpki*")
        except BirdError:  # "No protocols match": no validator configured
            protocols = []
        roas = {}
        for family, table in (("ipv4", "rs_roa4"), ("ipv6", "rs_roa6")):
            reply = query.query(ctl, f"show route table {table} count", timeout=10)
            text = "\n".join(t for _c, t in reply.lines)
            found = _ROUTE_COUNT.search(text)
            roas[family] = int(found.group(1)) if found else 0
    except (BirdError, OSError):
        return {"running": False, "sessions": [], "roas": {}}
    sessions = [{"protocol": p.name,
                 "cache": f"{p.details.get('Cache server', '')}:{p.details.get('Cache port', '')}",
                 "status": p.details.get("Status", p.info),
                 "up": p.state == "up"} for p in protocols if p.proto == "RPKI"]
    return {"running": True, "sessions": sessions, "roas": roas}


def aspa_record(state_dir: Path, asn: int) -> tuple[bool, tuple[int, ...] | None]:
    """Whether a VRP file with ASPA data is imported, and ``asn``'s own providers in it
    (None: no record of its own; an empty tuple is a record with no provider)."""
    from appliance.route_server.aspa import load_aspas
    from appliance.route_server.rpki_service import vrp_path

    data = load_aspas(vrp_path(Path(state_dir)))
    mine = next((r for r in data.records if r.customer == asn), None)
    return data.source is not None, (mine.providers if mine else None)
