"""What the rules look at: the box's status now, as plain data (``rules.evaluate``'s input).

Each part is read on its own; one that cannot be read (the route server not answering, nft
missing) is None, and the rules that need it leave their alerts as they were. This runs in
the collector's process: it reads the capabilities' lean status readers, never the model.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil

from appliance.config.revisions import RevisionStore
from appliance.platform.bird import query
from appliance.platform.bird.replies import BirdError, parse_routes
from appliance.platform.rtnl import IFF_UP, open_rtnl
from appliance.platform.target import Target
from appliance.route_server.communities import reject_reasons_of
from appliance.route_server.status import Member, route_server_sessions

log = logging.getLogger(__name__)

# The route server's data files (route_server/concern.py IRR_CACHE, rpki_service.VRP_FILE),
# read here by name only: importing those modules would load the model into the collector.
IRR_CACHE = "irr/cache.json"
VRP_FILE = "rpki/vrps.json"
EXAMPLES = 3  # filtered prefixes named in an alert


def _members(settings: dict[str, Any]) -> dict[str, Member]:
    return {addr: Member(int(v[0]), str(v[1]))
            for addr, v in (settings.get("members") or {}).items()}


def sessions_part(state_dir: Path, settings: dict[str, Any]
                  ) -> tuple[list[dict[str, Any]] | None, list[dict[str, Any]] | None]:
    """(sessions, max-prefix trips); (None, None) when the route server does not answer."""
    rs = route_server_sessions(state_dir, _members(settings))
    if not rs.get("running"):
        return None, None
    return rs["sessions"], rs.get("max_prefix_trips", [])


def filtered_part(state_dir: Path, settings: dict[str, Any],
                  sessions: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """Per session with filtered routes: how many are RPKI Invalid, how many not in the IRR."""
    busy = {s["protocol"]: s for s in sessions if s.get("filtered")}
    if not busy:
        return []
    ctl = query.route_server_socket(state_dir)
    rs_asn = int(settings["rs_asn"])
    out = []
    try:
        for p in query.protocols(ctl, kinds={"BGP"}):
            s = busy.get(p.name)
            if s is None:
                continue
            rpki: list[str] = []
            irr: list[str] = []
            for ch in p.channels:
                if not ch.table:
                    continue
                reply = query.query(ctl, f"show route table {ch.table} protocol {p.name} "
                                         "filtered all", timeout=30)
                for r in parse_routes(reply):
                    keys = {x.key for x in reject_reasons_of(list(r.large_communities),
                                                               rs_asn)}
                    if "rpki_invalid" in keys:
                        rpki.append(r.prefix)
                    if keys & {"irr_origin", "irr_prefix"}:
                        irr.append(r.prefix)
            out.append({"protocol": p.name, "asn": s.get("asn"), "member": s.get("member", ""),
                        "rpki_invalid": len(rpki), "irr": len(irr),
                        "rpki_examples": rpki[:EXAMPLES], "irr_examples": irr[:EXAMPLES]})
    except (BirdError, OSError, ValueError):
        return None
    return out


def ports_part(target: Target, settings: dict[str, Any], ifindex: dict[str, int]
               ) -> list[dict[str, Any]] | None:
    """Each member port: up (operationally) or not; a configured port that is missing is
    down."""
    ports = settings.get("ports") or {}
    try:
        with open_rtnl(target.netns) as rtnl:
            links = {name: rtnl.link(name) for name in sorted(ports)}
    except OSError:
        return None
    return [{"port": name, "member": ports[name], "ifindex": ifindex.get(name),
             "up": link is not None and (link.oper in ("UP", "UNKNOWN")
                                         and bool(link.flags & IFF_UP))}
            for name, link in links.items()]


def drops_part(target: Target) -> dict[str, dict[str, int]] | None:
    """Hygiene drop counters by port and reason; None when they cannot be read."""
    from appliance.bridge.status import drops_by_port

    try:
        return drops_by_port(target)
    except (OSError, ValueError, RuntimeError):
        return None


def data_ages(state_dir: Path, now: float) -> dict[str, float | None]:
    """Age in days of the route server's RPKI data (the VRP file) and IRR data (the oldest
    entry of the cache); None where there is no data."""
    ages: dict[str, float | None] = {"rpki": None, "irr": None}
    with contextlib.suppress(OSError):
        ages["rpki"] = (now - os.stat(state_dir / VRP_FILE).st_mtime) / 86400
    try:
        cache = json.loads((state_dir / IRR_CACHE).read_text("utf-8"))
        times = [datetime.fromisoformat(str(e["fetched_at"]).replace("Z", "+00:00"))
                 .timestamp() for e in cache.values()
                 if isinstance(e, dict) and e.get("fetched_at")]
        if times:
            ages["irr"] = (now - min(times)) / 86400
    except (OSError, ValueError, AttributeError, TypeError):
        pass
    return ages


def snapshot(target: Target, settings: dict[str, Any], *,
             now: float | None = None, has_system: bool = True,
             firmware: Callable[[], dict[str, Any] | None] | None = None,
             ifindex: dict[str, int] | None = None) -> dict[str, Any]:
    """Everything the rules read, now. ``has_system`` false (no lab, no image): the ports,
    drops and routes are not the exchange's and are left unknown."""
    now = time.time() if now is None else now
    snap: dict[str, Any] = {"sessions": None, "trips": None, "filtered": None, "ports": None,
                            "drops": None, "data_age_days": data_ages(target.state_dir, now),
                            "anycast": None, "root_zone": None, "disk_percent": None,
                            "firmware": None, "revision": None}
    if has_system:
        for part, read in (("ports", lambda: ports_part(target, settings, ifindex or {})),
                           ("drops", lambda: drops_part(target))):
            try:
                snap[part] = read()
            except Exception:  # one bad reader must not hide the others
                log.exception("alerts: reading %s failed", part)
        try:
            snap["sessions"], snap["trips"] = sessions_part(target.state_dir, settings)
            rule = (settings.get("rules") or {}).get("filtered_routes") or {}
            if snap["sessions"] is not None and rule.get("enabled", True):
                # the one costly read (each filtered route of each session): only when asked
                snap["filtered"] = filtered_part(target.state_dir, settings, snap["sessions"])
        except Exception:
            log.exception("alerts: reading the route server failed")
    # A service that is off has nothing wrong (its alerts resolve), rather than unknown.
    snap["anycast"] = {"running": True, "checkers": []}
    if settings.get("anycast"):
        from appliance.anycast.status import read_status
        snap["anycast"] = read_status(target.state_dir, now=now)
    snap["root_zone"] = {"state": "off"}
    if settings.get("local_root"):
        try:
            from appliance.resolver.status import resolver_status
            snap["root_zone"] = resolver_status(target.state_dir, now=now)["root_zone"]
        except Exception:
            snap["root_zone"] = None
            log.exception("alerts: reading the resolver failed")
    with contextlib.suppress(OSError):
        snap["disk_percent"] = psutil.disk_usage(str(target.state_dir)).percent
    if firmware is not None:
        snap["firmware"] = firmware()
    latest = RevisionStore(target.state_dir).latest()
    if latest is not None:
        snap["revision"] = {"id": latest.id, "author": latest.author, "message": latest.comment}
    return snap
