"""The onboarding checklist of a member: what the box checks by itself before a port leaves
quarantine (the member page, ``GET /api/v1/members/<asn>/onboarding`` and ``ixpctl member
onboarding ASN`` all show this one reading).

Each check is ``ok`` or not, with its findings as codes and values (no words: the front ends
say them in the reader's language, see web/onboarding.py):

- ``link``: every port of the member has carrier;
- ``macs``: the bridge learnt no other MAC on its ports and dropped none for a wrong source
  MAC in the quiet period;
- ``hygiene``: no frame of the member dropped by the peering-LAN rules for ``quiet_seconds``
  (default 10 minutes). Drops for the quarantine itself are not counted: they stop when the
  port is released;
- ``neighbours``: each of its addresses answered ARP (IPv4) or ND (IPv6), from its own MAC;
- ``bgp``: its route-server sessions Established, one per address;
- ``routes``: no announced prefix filtered for RPKI Invalid or IRR, and IRR data present;
- ``max_prefix``: accepted prefixes within the session's limit, the limit never hit.

``evaluate`` is pure (facts in, checklist out); ``checklist`` gathers the facts on the box.
"""

from __future__ import annotations

import ipaddress
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appliance.platform.target import Target
from appliance.util.atomic import atomic_write

if TYPE_CHECKING:
    from appliance.config.model import IXPConfig, Member

QUIET_SECONDS = 600
CHECKS = ("link", "macs", "hygiene", "neighbours", "bgp", "routes", "max_prefix")
# Drop reasons that are the quarantine itself, not the member's router misbehaving.
QUARANTINE_REASONS = frozenset({"quarantine", "quarantine_to"})
# Reject reasons (route_server/communities.py keys) the routes check is about.
RPKI_REASONS = frozenset({"rpki_invalid"})
IRR_REASONS = frozenset({"irr_origin", "irr_prefix"})


@dataclass
class Facts:
    """What the box saw of one member, read by ``gather``."""

    ports: dict[str, bool | None] = field(default_factory=dict)  # port: carrier (None: absent)
    fdb: dict[str, list[str]] = field(default_factory=dict)  # port: learnt MACs
    drops: dict[str, dict[str, int]] = field(default_factory=dict)  # port: {reason: packets}
    answers: dict[str, set[str]] = field(default_factory=dict)  # address: MACs that answered
    probe_error: str | None = None  # why the box could not ask on the LAN (answers unknown)
    rs_running: bool = False
    sessions: list[dict[str, Any]] = field(default_factory=list)  # route_server_sessions rows
    filtered: list[dict[str, Any]] = field(default_factory=list)  # {"prefix", "reasons"(keys)}
    accepted: list[dict[str, Any]] = field(default_factory=list)  # {"prefix", "tags"(keys)}
    irr_data: bool = True  # the box has IRR data for the member's AS-SET or ASN


def history_path(state_dir: Path) -> Path:
    """Where the last change of each member port's drop counters is kept: the web UI's own
    folder, since only its checklist page writes it (``monitor/`` is the collector's, and the
    web UI, a user of its own, cannot write there)."""
    return state_dir / "web" / "onboarding-drops.json"


# Where it was before (root's web UI wrote into the collector's folder): read once.
OLD_HISTORY = ("monitor", "onboarding-drops.json")


def _finding(code: str, **values: Any) -> dict[str, Any]:
    return {"code": code, **values}


def _check(key: str, findings: list[dict[str, Any]], notes: list[dict[str, Any]] | None = None
           ) -> dict[str, Any]:
    return {"check": key, "ok": not findings, "findings": findings, "notes": notes or []}


def _dropped_since(history: dict[str, Any], port: str, drops: dict[str, int], now: float,
                   quiet: float) -> dict[str, Any]:
    """Update ``history`` for ``port`` and return {reason: seconds since its last drop} for
    the reasons that dropped within ``quiet`` seconds."""
    seen = history.setdefault(port, {})
    recent: dict[str, Any] = {}
    for reason, packets in drops.items():
        last = seen.get(reason)
        if not packets:
            seen[reason] = [0, 0]
            continue
        if last is None or last[0] != packets:
            # a new count, or a first look at one: the last drop was no earlier than now
            seen[reason] = [packets, now]
        when = seen[reason][1]
        if now - when < quiet:
            recent[reason] = {"packets": packets, "ago": int(now - when)}
    return recent


def evaluate(member_entries: list[Member], facts: Facts, history: dict[str, Any], now: float,
             quiet_seconds: float = QUIET_SECONDS) -> list[dict[str, Any]]:
    """The checklist of a member (all its entries: a member may have several routers).

    ``history`` (the last change of each drop counter) is updated in place."""
    first = member_entries[0]
    macs = {mac.lower() for m in member_entries for mac in m.macs}
    out = []

    findings = []
    for port, carrier in sorted(facts.ports.items()):
        if carrier is None:
            findings.append(_finding("port_missing", port=port))
        elif not carrier:
            findings.append(_finding("no_link", port=port))
    out.append(_check("link", findings))

    recent = {port: _dropped_since(history, port, drops, now, quiet_seconds)
              for port, drops in sorted(facts.drops.items())}
    findings = [_finding("foreign_mac", port=port, mac=mac)
                for port, seen in sorted(facts.fdb.items()) for mac in sorted(seen)
                if mac.lower() not in macs]
    findings += [_finding("wrong_source_mac", port=port, packets=r["src_mac"]["packets"],
                          minutes=r["src_mac"]["ago"] // 60)
                 for port, r in recent.items() if "src_mac" in r]
    out.append(_check("macs", findings, [_finding("macs_registered", macs=sorted(macs))]))

    findings = [_finding("dropped", port=port, reason=reason, packets=info["packets"],
                         minutes=info["ago"] // 60)
                for port, r in recent.items() for reason, info in sorted(r.items())
                if reason not in QUARANTINE_REASONS]
    out.append(_check("hygiene", findings,
                      [_finding("quiet_period", minutes=int(quiet_seconds // 60))]))

    findings = []
    if facts.probe_error:
        findings.append(_finding("probe_failed", reason=facts.probe_error))
    for addr in sorted(facts.answers, key=lambda a: (":" in a, a)):
        answered = facts.answers[addr]
        proto = "ND" if ipaddress.ip_address(addr).version == 6 else "ARP"
        if not answered:
            findings.append(_finding("no_answer", address=addr, protocol=proto))
        for mac in sorted(answered - macs):
            findings.append(_finding("answer_from_other_mac", address=addr, protocol=proto,
                                     mac=mac))
    out.append(_check("neighbours", findings))

    wants_rs = any(m.route_server for m in member_entries)
    mine = facts.sessions
    findings, notes = [], []
    if not wants_rs:
        notes.append(_finding("no_route_server"))
    elif not facts.rs_running:
        findings.append(_finding("rs_not_running"))
    else:
        addresses = [str(a) for m in member_entries if m.route_server
                     for a in (*m.ipv4, *m.ipv6)]
        by_neighbor = {s["neighbor"]: s for s in mine}
        for addr in addresses:
            s = by_neighbor.get(addr)
            family = "IPv6" if ":" in addr else "IPv4"
            if s is None:
                findings.append(_finding("no_session", address=addr, family=family))
            elif not s["up"]:
                findings.append(_finding("session_down", address=addr, family=family,
                                         state=s.get("state") or "down"))
        if not any(m.ipv6 for m in member_entries):
            notes.append(_finding("no_ipv6"))
        if not any(m.ipv4 for m in member_entries):
            notes.append(_finding("no_ipv4"))
    out.append(_check("bgp", findings, notes))
    up = wants_rs and facts.rs_running and bool(mine) and all(s["up"] for s in mine)

    findings, notes = [], []
    if wants_rs and not up:
        findings.append(_finding("waits_for_bgp"))
    elif wants_rs:
        for r in facts.filtered:
            reasons = set(r.get("reasons") or ())
            if reasons & RPKI_REASONS:
                findings.append(_finding("rpki_invalid", prefix=r["prefix"]))
            if reasons & IRR_REASONS:
                findings.append(_finding("not_in_irr", prefix=r["prefix"],
                                         as_set=first.as_set or f"AS{first.asn}"))
        if not facts.irr_data:
            findings.append(_finding("no_irr_data", as_set=first.as_set or f"AS{first.asn}"))
        if not facts.accepted and not facts.filtered:
            notes.append(_finding("nothing_announced"))
        else:
            notes.append(_finding("announced", count=len(facts.accepted) + len(facts.filtered)))
    out.append(_check("routes", findings, notes))

    findings = []
    if wants_rs and not up:
        findings.append(_finding("waits_for_bgp"))
    for s in mine:
        family = "IPv6" if s.get("family") == "ipv6" else "IPv4"
        if s.get("limit_hit") or (s.get("limit") and s["accepted"] > s["limit"]):
            findings.append(_finding("over_limit", family=family, address=s["neighbor"],
                                     count=s["accepted"] + s.get("filtered", 0),
                                     limit=s.get("limit") or 0))
    out.append(_check("max_prefix", findings,
                      [_finding("limits", family="IPv6" if s.get("family") == "ipv6"
                                else "IPv4", count=s["accepted"], limit=s.get("limit") or 0)
                       for s in mine if s.get("limit")]))
    return out


def _load_history(state_dir: Path) -> dict[str, Any]:
    try:
        path = history_path(state_dir)
        if not path.exists():
            path = state_dir.joinpath(*OLD_HISTORY)
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def gather(target: Target, cfg: IXPConfig, entries: list[Member],
           probe_timeout: float = 1.0) -> Facts:
    """Read what the checklist needs on the box (or the lab's box namespace)."""
    import socket

    from appliance.bridge.desired import member_ports
    from appliance.bridge.status import drops_by_port
    from appliance.platform import probe, rtnl
    from appliance.route_server.status import route_server_sessions

    asn = entries[0].asn
    who = {f"AS{m.asn} {m.name}" for m in entries}
    ports = [p.ifname for p in member_ports(cfg) if p.member in who]
    facts = Facts()
    if not target.has_system:
        # a developer machine without a lab: its own NICs are not the exchange's ports
        facts.ports = dict.fromkeys(ports)
        facts.answers = {str(a): set() for m in entries for a in (*m.ipv4, *m.ipv6)}
        return facts
    with rtnl.open_rtnl(target.netns) as nl:
        links = {p: nl.link(p) for p in ports}
        facts.ports = {p: (None if link is None else link.oper == "UP") for p, link in
                       links.items()}
        index = {link.index: p for p, link in links.items() if link is not None}
        for n in nl.neighbours(socket.AF_BRIDGE):
            # learnt entries only: the box's own static entries are the registered MACs
            if n.ifindex in index and n.master and n.mac and \
                    not ({"PERMANENT", "NOARP"} & set(n.state.split("|"))):
                facts.fdb.setdefault(index[n.ifindex], []).append(n.mac)
        bridge = nl.link(cfg.peering_lan.bridge)
    try:
        all_drops = drops_by_port(target)
    except (OSError, RuntimeError, ValueError):
        all_drops = {}
    facts.drops = {p: all_drops.get(p, {}) for p in ports}
    rs = cfg.route_server
    sources = {a.version: str(a) for a in (rs.ipv4, rs.ipv6) if a is not None}
    targets = [str(a) for m in entries for a in (*m.ipv4, *m.ipv6)]
    if bridge is not None and bridge.mac and targets:
        try:
            facts.answers = probe.ask(target.netns, bridge.name, rtnl_mac(bridge.mac), sources,
                                      targets, timeout=probe_timeout)
        except OSError as exc:
            facts.probe_error = exc.strerror or str(exc)  # answers unknown: none listed
    else:
        facts.answers = {t: set() for t in targets}
    status = route_server_sessions(target.state_dir, cfg)
    facts.rs_running = status["running"]
    facts.sessions = [s for s in status["sessions"] if s["asn"] == asn]
    if facts.rs_running and facts.sessions:
        facts.accepted, facts.filtered = member_routes(target.state_dir, cfg, facts.sessions)
    # IRR data: the route server tags what it could not check (irr_unknown)
    facts.irr_data = not any("irr_unknown" in r["tags"] for r in facts.accepted)
    return facts


def member_routes(state_dir: Path, cfg: IXPConfig, sessions: list[dict[str, Any]]
                  ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(accepted, filtered) routes of these route-server sessions, each ``{"prefix",
    "session", "tags"}`` or ``{"prefix", "session", "reasons"}`` with the keys of
    route_server/communities.py (reasons say why it was filtered, tags what was checked)."""
    from appliance.monitor.looking_glass import LookingGlass
    from appliance.platform.bird.replies import BirdError
    from appliance.route_server.communities import INFO, LC_INFO, LC_REJECT, REJECT

    rs_asn = cfg.route_server.asn
    reasons = {v: k for k, v in REJECT.items()}
    tags = {v: k for k, v in INFO.items()}

    def keys(route: dict[str, Any], function: int, names: dict[int, str]) -> list[str]:
        return sorted(names.get(c[2], str(c[2])) for c in route["large_communities"]
                      if c[0] == rs_asn and c[1] == function)

    accepted: list[dict[str, Any]] = []
    filtered: list[dict[str, Any]] = []
    glass = LookingGlass(state_dir, rs_asn)
    try:
        protos = {p.name: p for p in glass.sessions()}
        for s in sessions:
            proto = protos.get(s["protocol"])
            if proto is None:
                continue
            for r in glass.routes_of(proto, filtered=True):
                filtered.append({"prefix": r["prefix"], "session": s["protocol"],
                                 "reasons": keys(r, LC_REJECT, reasons)})
            for r in glass.routes_of(proto, filtered=False):
                accepted.append({"prefix": r["prefix"], "session": s["protocol"],
                                 "tags": keys(r, LC_INFO, tags)})
    except (OSError, BirdError):
        pass  # BIRD went away between two reads: the session state says so next time
    return accepted, filtered


def rtnl_mac(raw: bytes) -> str:
    """A MAC as the kernel gives it, in text."""
    return ":".join(f"{b:02x}" for b in raw)


def checklist(target: Target, cfg: IXPConfig, asn: int, *,
              quiet_seconds: float = QUIET_SECONDS, now: float | None = None,
              probe_timeout: float = 1.0) -> dict[str, Any] | None:
    """The onboarding checklist of member ``asn`` as plain data; None when no such member.

    ``ready`` is true when every check is ok: the port may leave quarantine.
    """
    entries = cfg.member_by_asn(asn)
    if not entries:
        return None
    facts = gather(target, cfg, entries, probe_timeout=probe_timeout)
    history = _load_history(target.state_dir)
    key = str(asn)
    mine = history.get(key) if isinstance(history.get(key), dict) else {}
    checks = evaluate(entries, facts, mine, time.time() if now is None else now,
                      quiet_seconds)
    history[key] = mine
    path = history_path(target.state_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, json.dumps(history).encode(), 0o644)
    return {"asn": asn, "name": entries[0].name,
            "quarantine": any(m.quarantine for m in entries),
            "ready": all(c["ok"] for c in checks), "checks": checks}
