"""Render the BIRD 2 route-server configuration from the model (pure: same input, same bytes).

The templates under ``templates/`` are split by concern: ``main`` (globals, RPKI),
``communities`` (the control-community scheme), ``filters`` (import and export policy) and
``clients`` (one table, pipe and BGP session per member address). This module only turns the
model into plain values for them; every policy decision is visible in the templates.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any

import jinja2

from appliance.anycast.names import gate_ifname, protocol_name
from appliance.config.model import IXPConfig, MaxPrefix, Member, RoutingPolicy
from appliance.config.root_servers import ROOT_SERVERS
from appliance.platform.templates import environment
from appliance.route_server import communities as comm
from appliance.route_server.aspa import AspaData
from appliance.route_server.bogons import Bogons
from appliance.route_server.irr import IrrData, IrrEntry, irr_object
from appliance.route_server.peeringdb import NeverViaRs

_SAFE_TEXT = re.compile(r'["\\\x00-\x1f\x7f]')


@dataclass(frozen=True)
class IrrSets:
    """Names of the BIRD constants holding one IRR object's data ("" when empty)."""

    name: str
    asns: str
    p4: str
    p6: str
    entry: IrrEntry


@dataclass(frozen=True)
class Session:
    """One BGP channel of a member router's session, with its own table, pipe and filter.

    Usually one per session (``name == protocol``); an IPv6 session with RFC 8950 also has
    an IPv4 channel, ``<protocol>_v4``, whose next hops are the router's IPv6 address.
    """

    name: str
    protocol: str
    afi: int
    address: str
    local: str
    asn: int
    description: str
    policy: RoutingPolicy
    min_len: int
    max_len: int
    next_hops: tuple[str, ...]
    limit: int
    irr: IrrSets | None
    check_transit_free: bool
    # The member is itself transit-free: its own ASN (and prepends of it) is not a leak, any
    # other listed ASN in the path still is.
    own_transit_free: bool
    own_never_via_rs: bool  # PeeringDB flags the member itself; its own ASN is not a leak
    # The member's own deny list (this family's prefixes); the global one is a constant.
    deny_prefixes: tuple[str, ...]
    deny_asns: tuple[int, ...]
    md5: str | None
    bfd: bool
    ttl_security: bool
    quarantine: bool  # the session runs; its routes go nowhere, it gets none
    active: bool
    prepend_rs_asn: bool
    # The IPv4 channel of an IPv6 session (RFC 8950 extended next hop).
    extended_next_hop: bool = False
    add_paths_tx: bool = False
    blackhole_next_hop: str | None = None  # the IXP's blackhole address for this family
    blackhole_community: tuple[int, ...] | None = None  # added towards this member
    # A hosted root instance: the root server's address in this family (a prefix must cover
    # it) and the further service prefixes its operator listed. None for an ordinary member.
    root_address: str | None = None
    root_prefixes: tuple[str, ...] = ()


@dataclass(frozen=True)
class AnycastRoute:
    """A service prefix the route server originates while the anycast helper says so."""

    protocol: str
    afi: int
    prefix: str
    gate: str  # the interface whose admin state switches the announcement


def _symbol(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "_", text)


def session_name(asn: int, address: str) -> str:
    """The BIRD protocol name of a member session, e.g. ``c64496_203_0_113_10``.

    Built from the ASN and address so that it stays the same when the member list is reordered
    (a renamed protocol would be a dropped session).
    """
    return f"c{asn}_{_symbol(ipaddress.ip_address(address).compressed)}"


def _text(value: str) -> str:
    # BIRD strings have no escapes; a quote would end the string early.
    return _SAFE_TEXT.sub("'", value)


def _password(member: Member) -> str | None:
    pw = member.md5_password
    if pw is not None and _SAFE_TEXT.search(pw):
        raise ValueError(f"AS{member.asn}: the BGP password cannot contain '\"' or '\\' "
                         "(BIRD cannot quote them); choose another password")
    return pw


def _irr_sets(cfg: IXPConfig, irr: IrrData) -> dict[str, IrrSets]:
    # Constants are named after the object (IRR_AS_EXAMPLE_P4), so adding a member's AS-SET
    # leaves every other member's filter text unchanged.
    sets: dict[str, IrrSets] = {}
    used: set[str] = set()
    for obj in sorted({irr_object(m) for m in cfg.members if irr.for_member(m) is not None}):
        entry = irr.entries[obj]
        base = "IRR_" + _symbol(obj).upper()
        while base in used:  # AS-A-B and AS-A:B would clash
            base += "_"
        used.add(base)
        sets[obj] = IrrSets(
            name=obj,
            asns=f"{base}_ASNS" if entry.asns else "",
            p4=f"{base}_P4" if entry.prefixes4 else "",
            p6=f"{base}_P6" if entry.prefixes6 else "",
            entry=entry,
        )
    return sets


def max_prefix(member: Member, afi: int,
               peeringdb: dict[int, tuple[int | None, int | None]] | None = None) -> int:
    """The receive limit of ``member`` in family ``afi``.

    The member's own ``max_prefix`` when it differs from the default; otherwise what the
    network publishes in PeeringDB (``info_prefixes4/6``, PeeringDB's "recommended maximum"),
    when the dump has its ASN; otherwise the default. A value equal to the default counts as
    unset, since configurations are stored without their default values.
    """
    fam = "ipv4" if afi == 4 else "ipv6"
    own = getattr(member.max_prefix, fam)
    default = MaxPrefix.model_fields[fam].default
    published = (peeringdb or {}).get(member.asn, (None, None))[0 if afi == 4 else 1]
    if own != default or published is None:
        return own
    bound = next(m.le for m in MaxPrefix.model_fields[fam].metadata if hasattr(m, "le"))
    return min(published, bound)


def _sessions(cfg: IXPConfig, irr_sets: dict[str, IrrSets],
              never_asns: frozenset[int],
              pdb_prefixes: dict[int, tuple[int | None, int | None]]) -> list[Session]:
    rs = cfg.route_server
    blackhole = _blackhole_next_hops(cfg)
    out: list[Session] = []
    for member in cfg.members:
        if not member.route_server:
            continue
        pol = cfg.effective_policy(member)
        same_as = [m for m in cfg.members if m.asn == member.asn]
        families = {4: (member.ipv4, rs.ipv4), 6: (member.ipv6, rs.ipv6)}
        # (route family, session address family): RFC 8950 adds IPv4 over IPv6 sessions.
        units = [(afi, afi) for afi in (4, 6)]
        if member.extended_next_hop:
            units.append((4, 6))
        for afi, session_afi in units:
            addresses, local = families[session_afi]
            if local is None:
                continue
            for addr in addresses:
                # Next hops are addresses of the session's family (the IPv6 address for
                # IPv4 routes over an IPv6 session).
                if pol.next_hop == "strict":
                    hops = (str(addr),)
                else:
                    hops = tuple(sorted({str(a) for m in same_as
                                         for a in (m.ipv4 if session_afi == 4 else m.ipv6)}))
                protocol = session_name(member.asn, str(addr))
                enh = afi != session_afi
                out.append(Session(
                    name=f"{protocol}_v4" if enh else protocol,
                    protocol=protocol,
                    extended_next_hop=enh,
                    afi=afi,
                    address=str(addr),
                    local=str(local),
                    asn=member.asn,
                    description=_text(f"AS{member.asn} {member.name}"),
                    policy=pol,
                    min_len=pol.ipv4_min_length if afi == 4 else pol.ipv6_min_length,
                    max_len=pol.ipv4_max_length if afi == 4 else pol.ipv6_max_length,
                    next_hops=hops,
                    limit=max_prefix(member, afi, pdb_prefixes),
                    irr=irr_sets.get(irr_object(member)),
                    check_transit_free=pol.reject_transit_free_asns,
                    own_transit_free=member.asn in pol.transit_free_asns,
                    own_never_via_rs=member.asn in never_asns,
                    deny_prefixes=tuple(str(p) for p in member.deny.prefixes
                                        if p.version == afi),
                    deny_asns=tuple(sorted(set(member.deny.asns))),
                    md5=_password(member),
                    bfd=member.bfd,
                    ttl_security=member.ttl_security,
                    quarantine=member.quarantine,
                    active=member.active_session,
                    prepend_rs_asn=member.prepend_rs_asn,
                    add_paths_tx=member.add_paths_tx,
                    blackhole_next_hop=blackhole[afi],
                    blackhole_community=member.blackhole_community_parts(),
                    **_root_filter(member, afi),
                ))
    return out


def _blackhole_next_hops(cfg: IXPConfig) -> dict[int, str | None]:
    # A next hop off the LAN would make every member's router refuse the route.
    rs, lan = cfg.route_server, cfg.peering_lan
    out: dict[int, str | None] = {}
    for afi, field, addr, net in ((4, "blackhole_ipv4", rs.blackhole_ipv4, lan.ipv4_prefix),
                                  (6, "blackhole_ipv6", rs.blackhole_ipv6, lan.ipv6_prefix)):
        if addr is not None and (net is None or addr not in net):
            raise ValueError(f"route_server.{field} {addr} is not on the peering LAN "
                             f"({net or 'no IPv6 prefix'}): choose an address inside it")
        out[afi] = str(addr) if addr is not None else None
    return out


def _root_filter(member: Member, afi: int) -> dict[str, object]:
    if member.root_instance is None:
        return {}
    server = ROOT_SERVERS[member.root_instance.letter]
    return {
        "root_address": str(server.ipv4 if afi == 4 else server.ipv6),
        "root_prefixes": tuple(str(p) for p in member.root_instance.prefixes
                               if p.version == afi),
    }


def anycast_routes(cfg: IXPConfig) -> list[AnycastRoute]:
    """The static routes for ``services.anycast`` (none while the resolver is off)."""
    if not cfg.services.resolver.enabled:
        return []
    return [AnycastRoute(protocol_name(str(a.prefix)), a.prefix.version, str(a.prefix),
                         gate_ifname(str(a.prefix)))
            for a in cfg.services.anycast]


def _peers(cfg: IXPConfig) -> list[int]:
    return sorted({m.asn for m in cfg.members if m.route_server})


def _asn_set(ranges: list[tuple[int, int]]) -> str:
    return ", ".join(str(a) if a == b else f"{a}..{b}" for a, b in ranges)


def _bird_set(items: list[str]) -> str:
    return ", ".join(items)


def _add_plus(prefix: str) -> str:
    return f"{prefix}+"


def _call(method: Any) -> Any:
    return method()


def _env() -> jinja2.Environment:
    return environment("appliance.route_server", bird_set=_bird_set, add_plus=_add_plus,
                       call=_call)


def render_bird(cfg: IXPConfig, bogons: Bogons, irr: IrrData | None = None,
                never_via_rs: NeverViaRs | None = None, *, drain: bool = False,
                aspa: AspaData | None = None) -> str:
    """The route server's ``bird.conf`` for ``cfg`` (pure).

    ``aspa``: the ASPA records of the imported VRP file (``aspa.load_aspas``), rendered as a
    static ASPA table when any member's policy verifies paths.
    ``drain``: the route server is draining (RFC 8326, ``drain.py``): every route
    it sends carries GRACEFUL_SHUTDOWN. A state of the box, not of the configuration, so it is
    an argument here rather than a setting of the model.
    """
    rs = cfg.route_server
    never = never_via_rs or NeverViaRs()
    irr_sets = _irr_sets(cfg, irr or IrrData())
    sessions = _sessions(cfg, irr_sets, frozenset(never.asns), never.prefixes)
    aspa = aspa or AspaData()
    asn_ranges = [(r.first, r.last) for r in bogons.asn_ranges(cfg.lab)]
    return _env().get_template("main.j2").render(
        cfg=cfg,
        rs=rs,
        rs16=rs.asn <= 65535,
        comm=comm,
        bogons=bogons,
        bogon_asns=_asn_set(asn_ranges),
        transit_free=", ".join(str(a) for a in sorted(set(rs.policy.transit_free_asns))),
        never_via_rs=never,
        deny4=[str(p) for p in rs.policy.deny.prefixes if p.version == 4],
        deny6=[str(p) for p in rs.policy.deny.prefixes if p.version == 6],
        deny_asns=[str(a) for a in sorted(set(rs.policy.deny.asns))],
        never_problem=_text(never.problem or "no dump loaded"),
        irr_sets=[irr_sets[k] for k in sorted(irr_sets)],
        sessions=sessions,
        peers=_peers(cfg),
        any_bfd=any(s.bfd for s in sessions),
        any_rpki=bool(rs.rpki_validators),
        anycast=anycast_routes(cfg),
        drain=drain,
        # Without any member verifying paths there is no ASPA table at all (and the file
        # stays readable by BIRD releases before 2.16).
        any_aspa=any(s.policy.aspa != "off" for s in sessions),
        aspa=aspa,
        aspa_problem=_text(aspa.problem) if aspa.problem else None,
    )
