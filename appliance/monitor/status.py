"""The box's status as plain data: one model for the dashboard, the API and ``ixpctl status``.

It reads each capability's status (route-server sessions, the resolver, the anycast helper,
ports and hygiene drops, the system's health) and the committed revision; nothing here
changes anything.
"""

from __future__ import annotations

import time
from typing import Any

from appliance import __version__
from appliance.config.committed import committed_config
from appliance.config.revisions import RevisionStore
from appliance.monitor.health import system_health
from appliance.monitor.services import resolver_health
from appliance.monitor.store import samples_path
from appliance.platform.target import Target
from appliance.route_server.status import data_freshness, route_server_sessions


def _ports(target: Target, port_member: dict[str, str]) -> list[dict[str, Any]]:
    """Member ports with link, speed, traffic now and hygiene drops by reason."""
    if not port_member or not target.has_system:
        # a developer machine without a lab: its own NICs are not the exchange's ports (on
        # the image, the target is the host and its NICs are the ports)
        return []
    from appliance.bridge.inventory import collect as collect_nics
    from appliance.bridge.status import drops_by_port
    from appliance.monitor.store import SampleStore

    try:
        nics = {n.name: n for n in _cached_nics(target, collect_nics)}
        drops = drops_by_port(target)
    except (OSError, ValueError, RuntimeError):  # namespace gone (lab stopped) or nft missing
        return []
    samples = samples_path(target.state_dir)
    store = SampleStore(samples) if samples.exists() else None
    rows = []
    for port, member in sorted(port_member.items()):
        nic = nics.get(port)
        rate = store.latest_rate(port) if store else None
        rows.append({
            "port": port, "member": member, "present": nic is not None,
            "up": bool(nic and nic.carrier), "speed_mbps": nic.speed_mbps if nic else None,
            # what the kernel says: the bridge the port is in (None: not bridged)
            "bridge": nic.master if nic else None,
            "rx_bps": rate.rx_bps if rate else None, "tx_bps": rate.tx_bps if rate else None,
            "drops": drops.get(port, {}), "dropped": sum(drops.get(port, {}).values()),
        })
    return rows


_NIC_CACHE: dict[str | None, tuple[float, list[Any]]] = {}
NIC_CACHE_SECONDS = 30.0


def _cached_nics(target: Target, read: Any) -> list[Any]:
    # Listing NICs with driver and speed runs a helper inside the namespace (~0.3 s); the
    # dashboard refreshes every 30 s and speed or driver rarely change, so reuse the answer.
    now = time.monotonic()
    hit = _NIC_CACHE.get(target.netns)
    if hit is None or now - hit[0] > NIC_CACHE_SECONDS:
        hit = (now, read(target))
        _NIC_CACHE[target.netns] = hit
    return hit[1]


def box_status(target: Target,
               lab: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything the status page, ``ixpctl status`` and the API show, as plain data.

    ``lab`` is the lab's state when one runs (the front end reads it: a capability never
    imports the lab).
    """
    store = RevisionStore(target.state_dir)
    revisions = store.recent(10)
    latest = revisions[-1] if revisions else None
    data: dict[str, Any] = {
        "version": __version__,
        "revision": latest.summary() if latest else None,
        "history": [r.summary() for r in reversed(revisions)],
        "ixp": None,
        "members": [],
        "lab": lab,
        "problems": list(store.problems),
        "system": system_health(target.state_dir),
        "ports": [],
        "route_server": {"running": False, "sessions": []},
        "resolver": None,
        "anycast": None,
        "snmp": None,
        # the route server's IRR and PeeringDB data: age, stale flag, last refresh
        "data": None,
    }
    if latest is None:
        return data
    cfg = committed_config(target.state_dir)
    if cfg is None:
        data["problems"].append(f"committed revision {latest.id} does not validate; "
                                "roll back with 'ixpctl rollback'")
        return data
    data["ixp"] = {
        "name": cfg.identity.name, "short_name": cfg.identity.short_name,
        "country": cfg.identity.country, "lab": cfg.lab,
        "peering_lan": {"ipv4": str(cfg.peering_lan.ipv4_prefix),
                        "ipv6": str(cfg.peering_lan.ipv6_prefix or "")},
        "route_server": {"asn": cfg.route_server.asn,
                         "ipv4": str(cfg.route_server.ipv4 or ""),
                         "ipv6": str(cfg.route_server.ipv6 or "")},
    }
    data["ports"] = _ports(target, {p.ifname: f"AS{m.asn} {m.name}"
                                    for m in cfg.members for p in m.ports})
    data["route_server"] = route_server_sessions(target.state_dir, cfg)
    data["resolver"] = resolver_health(target.state_dir, cfg)
    data["data"] = data_freshness(target.state_dir, cfg)
    if cfg.snmp.enabled:
        from appliance.snmp.status import snmp_status
        data["snmp"] = snmp_status(target.state_dir)
    if cfg.services.anycast and cfg.services.resolver.enabled:
        from appliance.anycast.status import read_status
        data["anycast"] = read_status(target.state_dir)
    sessions = {m["asn"]: m for m in (data["lab"] or {}).get("members", [])}
    for m in cfg.members:
        lab_m = sessions.get(m.asn, {})
        data["members"].append({
            "asn": m.asn, "name": m.name, "port": m.ports[0].interface,
            "vlan": m.ports[0].vlan,
            "ipv4": [str(a) for a in m.ipv4], "ipv6": [str(a) for a in m.ipv6],
            "route_server": m.route_server, "quarantine": m.quarantine,
            "router_running": lab_m.get("router_running"),
            "sessions": lab_m.get("sessions", {}),
        })
    return data
