"""A member's report card as plain data: its sessions, what it announces and what became of
it, how much of it RPKI and the IRR cover, and its traffic with each peer (the exact matrix).

Read by the member page, ``GET /api/v1/members/<asn>/report`` and ``ixpctl member report``.
Only this member's data: the traffic is the pairs it is one end of, never others' pairs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from appliance.monitor.onboarding import member_routes
from appliance.platform.target import Target

if TYPE_CHECKING:
    from appliance.config.model import IXPConfig

TOP_PEERS = 5


def coverage(accepted: list[dict[str, Any]], filtered: list[dict[str, Any]]
             ) -> dict[str, Any]:
    """RPKI and IRR coverage of what a member announces (accepted and filtered alike).

    RPKI: ``valid`` (a ROA matches), ``invalid`` (a ROA covers it, not with this origin or
    length), ``not_found`` (no ROA: not covered). IRR: ``registered`` (origin and prefix in
    its AS-SET), ``unregistered``, ``unknown`` (no IRR data on the box, or not checked).
    """
    total = len(accepted) + len(filtered)
    rpki = {"valid": 0, "invalid": 0, "not_found": 0}
    irr = {"registered": 0, "unregistered": 0, "unknown": 0}
    for r in accepted:
        tags = set(r["tags"])
        if "rpki_valid" in tags:
            rpki["valid"] += 1
        elif "rpki_invalid_tagged" in tags:
            rpki["invalid"] += 1
        else:
            rpki["not_found"] += 1
        if "irr_ok" in tags:
            irr["registered"] += 1
        elif tags & {"irr_failed_tagged", "irr_by_roa"}:
            irr["unregistered"] += 1
        else:
            irr["unknown"] += 1
    for r in filtered:
        reasons = set(r["reasons"])
        rpki["invalid" if "rpki_invalid" in reasons else "not_found"] += 1
        irr["unregistered" if reasons & {"irr_origin", "irr_prefix"} else "unknown"] += 1

    def pct(n: int) -> float | None:
        return round(100.0 * n / total, 1) if total else None
    return {"announced": total,
            "rpki": {**rpki, "roa_coverage_pct": pct(rpki["valid"] + rpki["invalid"])},
            "irr": {**irr, "irr_coverage_pct": pct(irr["registered"])}}


def traffic(asn: int, rows: list[dict[str, Any]], top: int = TOP_PEERS) -> dict[str, Any]:
    """This member's traffic from the traffic matrix's rows (``bridge.status.member_matrix``):
    the pairs it is one end of, by peer, busiest first."""
    peers: dict[int, dict[str, Any]] = {}
    sent = received = 0
    for r in rows:
        if r["from_asn"] == asn:
            other, name, way = int(r["to_asn"]), r["to"], "sent"
            sent += int(r["bytes"])
        elif r["to_asn"] == asn:
            other, name, way = int(r["from_asn"]), r["from"], "received"
            received += int(r["bytes"])
        else:
            continue  # another pair: never part of this member's data
        p = peers.setdefault(other, {"asn": other, "name": name, "sent": 0, "received": 0,
                                     "ipv4": 0, "ipv6": 0})
        p[way] += int(r["bytes"])
        p[str(r["family"])] += int(r["bytes"])
    ranked = sorted(peers.values(), key=lambda p: (-(p["sent"] + p["received"]), p["asn"]))
    return {"sent_bytes": sent, "received_bytes": received, "peers": ranked,
            "top_peers": ranked[:top]}


def own_pairs(asn: int, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The matrix rows a member may see: those it is one end of."""
    return [r for r in rows if asn in (r["from_asn"], r["to_asn"])]


def member_report(target: Target, cfg: IXPConfig, asn: int,
                  *, live_traffic: bool = True) -> dict[str, Any] | None:
    """The report card of member ``asn``; None when there is no such member. Without
    ``live_traffic`` the matrix is not read (the monthly mail counts from the samples)."""
    from appliance.bridge.status import box_matrix
    from appliance.route_server.status import route_server_sessions

    entries = cfg.member_by_asn(asn)
    if not entries:
        return None
    status = route_server_sessions(target.state_dir, cfg)
    sessions = [s for s in status["sessions"] if s["asn"] == asn]
    accepted, filtered = (member_routes(target.state_dir, cfg, sessions) if status["running"]
                          and sessions else ([], []))
    by_reason: dict[str, int] = {}
    for r in filtered:
        for reason in r["reasons"] or ["unknown"]:
            by_reason[reason] = by_reason.get(reason, 0) + 1
    try:
        rows = box_matrix(cfg, target) if live_traffic else []
    except (OSError, RuntimeError, ValueError):
        rows = []
    first = entries[0]
    return {
        "asn": asn, "name": first.name, "noc_email": first.noc_email,
        "quarantine": any(m.quarantine for m in entries),
        "ports": [p.ifname for m in entries for p in m.ports],
        # the same ports as NIC and VLAN, for pages that say "eth1 · VLAN 101"
        "port_list": [{"interface": p.interface, "vlan": p.vlan}
                      for m in entries for p in m.ports],
        "ipv4": [str(a) for m in entries for a in m.ipv4],
        "ipv6": [str(a) for m in entries for a in m.ipv6],
        "route_server": any(m.route_server for m in entries),
        "rs_running": status["running"],
        "sessions": [{k: s.get(k) for k in ("protocol", "neighbor", "family", "state", "up",
                                             "since", "accepted", "filtered", "exported",
                                             "limit", "limit_hit", "trips", "last_trip")}
                     for s in sessions],
        "accepted": len(accepted), "filtered": len(filtered),
        "filtered_by_reason": dict(sorted(by_reason.items(), key=lambda kv: -kv[1])),
        "filtered_routes": filtered,
        "coverage": coverage(accepted, filtered),
        "matrix": cfg.peering_lan.traffic_matrix,
        "traffic": traffic(asn, rows),
        "aspa": aspa_readiness(target.state_dir, cfg, asn),
    }


def aspa_readiness(state_dir: Path, cfg: IXPConfig, asn: int) -> dict[str, Any]:
    """How the route server checks this member's AS paths (its ASPA policy) and whether the
    imported VRP file holds the member's own ASPA record (its providers), which is what lets
    others verify paths through it."""
    from appliance.route_server.status import aspa_record

    data, providers = aspa_record(state_dir, asn)
    return {"policy": cfg.effective_policy(cfg.member_by_asn(asn)[0]).aspa,
            "data": data, "record": providers is not None,
            "providers": [f"AS{p}" for p in providers or ()]}


def month_traffic(state_dir: Path, asn: int, since: float, until: float,
                  names: dict[int, str], top: int = TOP_PEERS) -> dict[str, Any]:
    """This member's traffic between ``since`` and ``until`` (a calendar month for the
    monthly mail) from the collector's matrix samples, as ``traffic`` gives it; ``samples``
    false when the collector kept none for the period (no file yet, or not sampling then)."""
    from appliance.monitor.store import SampleStore, samples_path

    path = samples_path(Path(state_dir))
    if not path.exists():
        return {**traffic(asn, [], top), "samples": False}
    rates = SampleStore(path).matrix_rates(int(until - since), now=int(until))
    rows = [{"from_asn": r.src, "to_asn": r.dst, "from": names.get(r.src, ""),
             "to": names.get(r.dst, ""), "family": r.family, "bytes": r.bytes}
            for r in rates if asn in (r.src, r.dst)]
    return {**traffic(asn, rows, top), "samples": bool(rates)}
