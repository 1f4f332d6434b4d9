"""Rules that relate several fields of a structurally valid config.

Each check is a generator of ``Issue``; ``check_config`` runs them all so the operator sees
every problem at once instead of fixing them one per run.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator

from appliance.config.asn import asn_problem
from appliance.config.errors import Issue
from appliance.config.model import BLACKHOLE_PORT, IXPConfig
from appliance.config.root_servers import root_letters_in

Check = Callable[[IXPConfig], Iterator[Issue]]
IP = ipaddress.IPv4Address | ipaddress.IPv6Address


def check_asns(cfg: IXPConfig) -> Iterator[Issue]:
    """Members need public ASNs (lab configs excepted); the route server may be private."""
    problem = asn_problem(cfg.route_server.asn, lab=cfg.lab, route_server=True)
    if problem:
        yield Issue("route_server.asn", problem)
    for i, member in enumerate(cfg.members):
        problem = asn_problem(member.asn, lab=cfg.lab)
        if problem:
            yield Issue(f"members[{i}].asn", problem)
        if member.asn == cfg.route_server.asn:
            yield Issue(
                f"members[{i}].asn",
                f"AS{member.asn} is the route server's own ASN; a member needs its own ASN",
            )


def _lan_for(cfg: IXPConfig, addr: IP) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    return cfg.peering_lan.ipv4_prefix if addr.version == 4 else cfg.peering_lan.ipv6_prefix


def _lan_address_problem(cfg: IXPConfig, addr: IP) -> str | None:
    lan = _lan_for(cfg, addr)
    if lan is None:
        return (
            f"{addr} is an IPv6 address but peering_lan.ipv6_prefix is not set; "
            "set the LAN's IPv6 prefix or remove this address"
        )
    if addr not in lan:
        return f"{addr} is outside the peering LAN {lan}; use an address inside it"
    if addr == lan.network_address and lan.prefixlen < (31 if addr.version == 4 else 127):
        return f"{addr} is the network address of {lan}; pick a host address"
    if addr.version == 4 and addr == lan.broadcast_address and lan.prefixlen < 31:
        return f"{addr} is the broadcast address of {lan}; pick a host address"
    return None


def check_route_server(cfg: IXPConfig) -> Iterator[Issue]:
    """Route-server addresses sit on the LAN; the router id is usable; policy is coherent."""
    rs = cfg.route_server
    if rs.ipv4 is None and rs.ipv6 is None:
        yield Issue("route_server", "give the route server an ipv4 or ipv6 address (or both)")
    for field in ("ipv4", "ipv6"):
        addr = getattr(rs, field)
        if addr is not None and (problem := _lan_address_problem(cfg, addr)):
            yield Issue(f"route_server.{field}", problem)
    if rs.router_id in (ipaddress.IPv4Address("0.0.0.0"), ipaddress.IPv4Address("255.255.255.255")):
        yield Issue("route_server.router_id", f"{rs.router_id} cannot be a router id; "
                    "use the route server's IPv4 address")
    pol = rs.policy
    for fam in ("ipv4", "ipv6"):
        lo, hi = getattr(pol, f"{fam}_min_length"), getattr(pol, f"{fam}_max_length")
        if lo > hi:
            yield Issue(f"route_server.policy.{fam}_min_length",
                        f"{lo} is longer than {fam}_max_length {hi}; the minimum must not "
                        "exceed the maximum")

    ref = rs.refresh
    for field in ("irr_hours", "peeringdb_hours"):
        hours = getattr(ref, field)
        if hours >= ref.stale_days * 24:
            yield Issue(f"route_server.refresh.{field}",
                        f"{hours} hours is not less than stale_days ({ref.stale_days} days): "
                        "the data would be stale before its next refresh; refresh more often "
                        "or raise stale_days")


def _service_addresses(cfg: IXPConfig) -> dict[IP, str]:
    res = cfg.services.resolver
    out: dict[IP, str] = {}
    for field in ("ipv4", "ipv6"):
        for j, addr in enumerate(getattr(res, field)):
            out[addr] = f"services.resolver.{field}[{j}]"
    return out


def check_members(cfg: IXPConfig) -> Iterator[Issue]:
    """Member addresses, MACs and ports are valid, on the LAN and not shared with anyone."""
    reserved: dict[IP, str] = {}
    for field in ("ipv4", "ipv6", "blackhole_ipv4", "blackhole_ipv6"):
        addr = getattr(cfg.route_server, field)
        if addr is not None:
            what = "the blackhole" if field.startswith("blackhole") else "the route server"
            reserved[addr] = f"{what} (route_server.{field})"
    blackholing = cfg.route_server.blackhole_ipv4 or cfg.route_server.blackhole_ipv6
    reserved.update({a: f"a service address ({p})" for a, p in _service_addresses(cfg).items()})
    special_ifaces = {
        cfg.management.interface: "the management interface",
        cfg.peering_lan.bridge: "the peering LAN bridge",
        **({BLACKHOLE_PORT: "the blackhole's port"} if blackholing else {}),
    }
    seen_addr: dict[IP, str] = {}
    # the blackhole MAC is dropped at every port: no member router may use it
    seen_mac: dict[str, str] = ({cfg.route_server.blackhole_mac: "the blackhole "
                                 "(route_server.blackhole_mac)"} if blackholing else {})
    seen_port: dict[tuple[str, int | None], str] = {}
    # A NIC is either one member's untagged port or a trunk of VLAN ports, never both: the
    # trunk itself is no bridge port, so its untagged frames would reach no one.
    trunks: dict[str, list[str]] = {}
    untagged: dict[str, list[str]] = {}
    for m in cfg.members:
        for port in m.ports:
            side = untagged if port.vlan is None else trunks
            names = side.setdefault(port.interface, [])
            if f"AS{m.asn} {m.name}" not in names:
                names.append(f"AS{m.asn} {m.name}")
    for i, m in enumerate(cfg.members):
        where = f"members[{i}]"
        who = f"members[{i}] (AS{m.asn} {m.name})"
        if not m.ipv4 and not m.ipv6:
            yield Issue(where, "a member needs at least one ipv4 or ipv6 address on the LAN")
        if cfg.peering_lan.ipv6_prefix is None and m.ipv6:
            yield Issue(f"{where}.ipv6", "peering_lan.ipv6_prefix is not set; set it or "
                        "remove the member's IPv6 addresses")
        for field in ("ipv4", "ipv6"):
            for j, addr in enumerate(getattr(m, field)):
                path = f"{where}.{field}[{j}]"
                if cfg.peering_lan.ipv6_prefix is None and addr.version == 6:
                    continue
                if problem := _lan_address_problem(cfg, addr):
                    yield Issue(path, problem)
                elif addr in reserved:
                    yield Issue(path, f"{addr} is already used by {reserved[addr]}; "
                                "give the member its own address")
                elif addr in seen_addr:
                    yield Issue(path, f"{addr} is already used by {seen_addr[addr]}; "
                                "every router needs its own address")
                else:
                    seen_addr[addr] = who
        for j, mac in enumerate(m.macs):
            if mac in seen_mac:
                yield Issue(f"{where}.macs[{j}]", f"{mac} is already used by {seen_mac[mac]}; "
                            "each MAC address belongs to one member router")
            seen_mac[mac] = who
        for j, port in enumerate(m.ports):
            key = (port.interface, port.vlan)
            label = port.interface + (f" VLAN {port.vlan}" if port.vlan else "")
            if port.interface in special_ifaces:
                yield Issue(f"{where}.ports[{j}].interface",
                            f"{port.interface} is {special_ifaces[port.interface]}; "
                            "connect the member to a free NIC")
            elif key in seen_port:
                yield Issue(f"{where}.ports[{j}]", f"port {label} is already given to "
                            f"{seen_port[key]}; each port belongs to one member")
            elif port.vlan is None and port.interface in trunks:
                yield Issue(f"{where}.ports[{j}].interface", f"{port.interface} carries VLAN "
                            f"ports of {', '.join(trunks[port.interface])}, so it cannot "
                            "also be an untagged port; give this port a VLAN too")
            elif port.vlan is not None and port.interface in untagged:
                yield Issue(f"{where}.ports[{j}].interface", f"{port.interface} is the "
                            f"untagged port of {', '.join(untagged[port.interface])}, so it "
                            "cannot carry VLAN ports; choose another NIC")
            seen_port[key] = who
        pol = cfg.effective_policy(m)
        for fam in ("ipv4", "ipv6"):
            if getattr(pol, f"{fam}_min_length") > getattr(pol, f"{fam}_max_length"):
                yield Issue(f"{where}.policy.{fam}_max_length",
                            f"{getattr(pol, f'{fam}_max_length')} is shorter than the route "
                            f"server's {fam}_min_length; raise it")
        if (m.route_server and m.ipv6 and cfg.route_server.ipv6 is None
                and cfg.peering_lan.ipv6_prefix is not None):
            yield Issue(f"{where}.ipv6", "the member has IPv6 but the route server has no "
                        "IPv6 address; set route_server.ipv6 or remove the member's IPv6")
        if m.route_server and m.ipv4 and cfg.route_server.ipv4 is None:
            yield Issue(f"{where}.ipv4", "the member has IPv4 but the route server has no "
                        "IPv4 address; set route_server.ipv4 or remove the member's IPv4")


def check_management(cfg: IXPConfig) -> Iterator[Issue]:
    """Management addressing is coherent and kept apart from the peering LAN."""
    mg = cfg.management
    if mg.interface == cfg.peering_lan.bridge:
        yield Issue("management.interface", "the management interface cannot be the peering "
                    "LAN bridge; keep management on its own NIC")
    if isinstance(mg.ipv4, ipaddress.IPv4Interface):
        if mg.ipv4.network.overlaps(cfg.peering_lan.ipv4_prefix):
            yield Issue("management.ipv4", f"{mg.ipv4} overlaps the peering LAN "
                        f"{cfg.peering_lan.ipv4_prefix}; management needs its own network")
        if mg.ipv4_gateway is not None and mg.ipv4_gateway not in mg.ipv4.network:
            yield Issue("management.ipv4_gateway", f"{mg.ipv4_gateway} is not in the "
                        f"management network {mg.ipv4.network}")
    elif mg.ipv4_gateway is not None:
        yield Issue("management.ipv4_gateway", "a gateway is only used with a static ipv4 "
                    "address; remove it or set management.ipv4 to an address")
    if isinstance(mg.ipv6, ipaddress.IPv6Interface):
        lan6 = cfg.peering_lan.ipv6_prefix
        if lan6 is not None and mg.ipv6.network.overlaps(lan6):
            yield Issue("management.ipv6", f"{mg.ipv6} overlaps the peering LAN {lan6}; "
                        "management needs its own network")
        gw6 = mg.ipv6_gateway
        if gw6 is not None and not gw6.is_link_local and gw6 not in mg.ipv6.network:
            yield Issue("management.ipv6_gateway", f"{gw6} is neither in the management "
                        f"network {mg.ipv6.network} nor link-local (fe80::/10)")
    elif mg.ipv6_gateway is not None:
        yield Issue("management.ipv6_gateway", "a gateway is only used with a static ipv6 "
                    "address; remove it or set management.ipv6 to an address")


def check_services(cfg: IXPConfig) -> Iterator[Issue]:
    """Resolver addresses are on the LAN or in an anycast prefix; anycast is off the LAN."""
    res = cfg.services.resolver
    anycast = [a.prefix for a in cfg.services.anycast]
    lans = [n for n in (cfg.peering_lan.ipv4_prefix, cfg.peering_lan.ipv6_prefix) if n]
    if res.enabled and not res.ipv4 and not res.ipv6:
        yield Issue("services.resolver", "the resolver is enabled but has no address; "
                    "add services.resolver.ipv4 or ipv6")
    for field in ("ipv4", "ipv6"):
        for j, addr in enumerate(getattr(res, field)):
            in_anycast = any(addr in p for p in anycast if p.version == addr.version)
            if in_anycast:
                continue
            if problem := _lan_address_problem(cfg, addr):
                yield Issue(f"services.resolver.{field}[{j}]", problem +
                            " (or inside one of services.anycast)")
            elif addr in (cfg.route_server.ipv4, cfg.route_server.ipv6):
                yield Issue(f"services.resolver.{field}[{j}]",
                            f"{addr} is the route server's address; give the resolver its own")
    seen: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    for j, item in enumerate(cfg.services.anycast):
        for lan in lans:
            if item.prefix.version == lan.version and item.prefix.overlaps(lan):
                yield Issue(f"services.anycast[{j}].prefix", f"{item.prefix} overlaps the "
                            f"peering LAN {lan}; an anycast service prefix must be separate")
        if letters := root_letters_in(item.prefix):
            yield Issue(f"services.anycast[{j}].prefix", f"{item.prefix} holds the address of "
                        f"the {', '.join(x.upper() for x in letters)} root server; the box never "
                        "announces root prefixes (a root operator's instance is a member with "
                        "root_instance set)")
        if any(item.prefix.version == s.version and item.prefix.overlaps(s) for s in seen):
            yield Issue(f"services.anycast[{j}].prefix", f"{item.prefix} overlaps another "
                        "anycast prefix; list each service prefix once")
        seen.append(item.prefix)
        if item.check.timeout >= item.check.interval:
            yield Issue(f"services.anycast[{j}].check.timeout", "the timeout must be shorter "
                        "than the interval")


def check_snmp_and_users(cfg: IXPConfig) -> Iterator[Issue]:
    """SNMP has a way in when enabled; names are unique; no well-known communities."""
    snmp = cfg.snmp
    if snmp.enabled and not snmp.communities and not snmp.users:
        yield Issue("snmp", "SNMP is enabled but has no community or user; add an SNMPv3 "
                    "user (recommended) or a v2c community")
    for j, com in enumerate(snmp.communities):
        if com.community.lower() in ("public", "private", "community", "snmp"):
            yield Issue(f"snmp.communities[{j}].community", f"'{com.community}' is the first "
                        "thing an attacker tries; choose a less guessable community")
    names: set[str] = set()
    for j, user in enumerate(snmp.users):
        if user.name in names:
            yield Issue(f"snmp.users[{j}].name", f"user '{user.name}' is listed twice")
        names.add(user.name)
    admins: set[str] = set()
    for j, admin in enumerate(cfg.admin_users):
        if admin.name in admins:
            yield Issue(f"admin_users[{j}].name", f"user '{admin.name}' is listed twice")
        admins.add(admin.name)
        yield from _member_login(cfg, j, admin.role, admin.asn)


def _member_login(cfg: IXPConfig, j: int, role: str, asn: int | None) -> Iterator[Issue]:
    """A member account names the member it belongs to; other roles see every member."""
    if role == "member" and asn is None:
        yield Issue(f"admin_users[{j}].asn", "a member account needs the ASN of the member "
                    "it belongs to (asn: 64500)")
    elif role == "member" and not cfg.member_by_asn(asn or 0):
        yield Issue(f"admin_users[{j}].asn", f"AS{asn} is not a member of this exchange; "
                    "give the ASN of a configured member")
    elif role != "member" and asn is not None:
        yield Issue(f"admin_users[{j}].asn", f"only a member account has an asn; a {role} "
                    "sees every member (remove asn, or make the role member)")


CHECKS: tuple[Check, ...] = (
    check_asns,
    check_management,
    check_route_server,
    check_members,
    check_services,
    check_snmp_and_users,
)


def check_config(cfg: IXPConfig) -> list[Issue]:
    """Run every semantic check and return all the issues found (empty when valid)."""
    issues: list[Issue] = []
    for check in CHECKS:
        issues.extend(check(cfg))
    return issues
