"""The management-plane ruleset (nftables, ``inet`` family), rendered from the model (pure).

One table, ``inet ixp_mgmt``, with one base chain on the input hook: it sees only packets
addressed to the box itself (bridged member-to-member traffic never reaches it). Accepted:

- loopback, established/related connections, the ICMP/ICMPv6 that ND, PMTU discovery and
  error reporting need, echo requests within a rate limit;
- on the management NIC: SSH, HTTP, HTTPS and SNMP from ``management.allowed_networks`` (any
  source when the list is empty), and what a DHCP/DHCPv6/SLAAC client needs;
- on the peering LAN bridge: BGP from route-server members' addresses only;
- on either: DNS to the resolver's service addresses from the networks the resolver answers
  (exactly the ``allow`` lines of its unbound access list).

Everything else addressed to the box is dropped by an explicit rule that counts it under a
named counter per reason (``REASONS``). The base chain's policy stays ``accept`` on purpose: a
flushed or half-edited chain then fails open instead of locking the operator out, and every
drop is a visible, counted rule rather than a silent policy.

The file replaces only this table, in one transaction (``table`` + ``delete table`` +
definition), so there is never a moment without rules and no other table is touched.

When the table is already loaded, an apply loads the same rules *in place* instead, so the
drop counters keep counting (issue 13): ``flush table``, ``delete`` of every set, chain or
counter the new ruleset does not keep, then the definition, still one transaction; nft keeps
the named counters that exist already. What is loaded comes in as data (``RunningTable``, see
``appliance.platform.nft``), so rendering stays pure.

The rendering's digest sits in the comment of the input chain's first rule, not on the table:
an in-place update replaces every rule but cannot change a table's comment.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Iterable

from appliance.config.model import IXPConfig
from appliance.platform.nft import RunningTable, update_head
from appliance.resolver.render import access_list

TABLE = "ixp_mgmt"
FAMILY = "inet"

# Web UI (nginx on the image: 80 redirects to 443) and SSH.
MGMT_TCP_PORTS = (22, 80, 443)
BGP_PORT = 179
BFD_PORTS = (3784, 3785)  # single-hop BFD control and echo (RFC 5881)
DNS_PORT = 53
SNMP_DEFAULT_PORT = 161
# Echo requests per second (all sources together) before they are dropped as icmp_flood;
# enough for every member's monitoring to ping the route server each second.
ICMP_RATE = 100
ICMP_BURST = 200
# Always allowed to manage the box on the management NIC, whatever management.allowed_networks
# says: the image's fixed fallback address 192.168.254.1/24 for a laptop cabled straight to the
# port (docs/install.md), and IPv6 link-local. Both are reachable only from the same cable or
# segment, and they are the way back in after a too-narrow allowed_networks.
RECOVERY_NETWORKS = ("192.168.254.0/24", "fe80::/10")

# reason -> what it means, for the docs, the operator and metrics.
REASONS: dict[str, str] = {
    "invalid": "packet that belongs to no known connection (conntrack state invalid)",
    "icmp_flood": "ICMP/ICMPv6 echo requests above the rate limit",
    "mgmt_source": "web UI, SSH or SNMP on the management NIC from a source outside "
                   "management.allowed_networks",
    "mgmt_other": "anything else addressed to the box on the management NIC",
    "lan_mgmt": "web UI, SSH or SNMP attempted from the peering LAN",
    "bgp_source": "BGP from an address that is not a route-server member's",
    "dns_source": "DNS from a source the resolver does not serve, or to an address that is "
                  "not a resolver service address",
    "lan_other": "anything else addressed to the box from the peering LAN",
    "other_interface": "traffic to the box on an interface that is neither the management "
                       "NIC nor the peering LAN bridge",
}

DIGEST_PREFIX = "ixp-appliance sha256="
_DIGEST_RE = re.compile(r'comment "' + re.escape(DIGEST_PREFIX) + r'([0-9a-f]{64})"')

Net = ipaddress.IPv4Network | ipaddress.IPv6Network


def _q(text: str) -> str:
    return '"' + text.replace('"', "") + '"'


def _split(nets: Iterable[Net]) -> tuple[list[str], list[str]]:
    """Collapse networks (nft refuses overlapping intervals) into sorted IPv4 and IPv6 lists."""
    v4 = [n for n in nets if n.version == 4]
    v6 = [n for n in nets if n.version == 6]
    return ([str(n) for n in ipaddress.collapse_addresses(v4)],  # type: ignore[arg-type]
            [str(n) for n in ipaddress.collapse_addresses(v6)])  # type: ignore[arg-type]


def bgp_peers(cfg: IXPConfig) -> tuple[list[str], list[str]]:
    """Member addresses that may open BGP to the route server (IPv4, IPv6), sorted.

    The same members the route-server render gives sessions to: those with
    ``route_server: true`` (members in quarantine included: their port lets BGP with the route
    server through, so the operator can watch the session come up).
    """
    v4 = {ipaddress.IPv4Address(a) for m in cfg.members if m.route_server for a in m.ipv4}
    v6 = {ipaddress.IPv6Address(a) for m in cfg.members if m.route_server for a in m.ipv6}
    return [str(a) for a in sorted(v4)], [str(a) for a in sorted(v6)]


def bfd_enabled(cfg: IXPConfig) -> bool:
    """Whether any route-server session runs BFD (``members[].bfd``, as BIRD is rendered)."""
    return any(m.bfd for m in cfg.members if m.route_server)


def mgmt_sources(cfg: IXPConfig) -> tuple[list[str], list[str]] | None:
    """Who may reach SSH, the web UI and SNMP on the management NIC; None means any source."""
    allowed = cfg.management.allowed_networks
    if not allowed:
        return None
    recovery = [ipaddress.ip_network(n) for n in RECOVERY_NETWORKS]
    return _split([*(ipaddress.ip_network(n) for n in allowed), *recovery])


def dns_clients(cfg: IXPConfig) -> tuple[list[str], list[str]]:
    """Sources the resolver answers: the ``allow`` lines of its unbound access list.

    Taken from ``appliance.resolver.render.access_list`` so the firewall and the resolver can never
    disagree: the peering LAN prefixes, ``management.allowed_networks`` and
    ``services.resolver.allowed_networks`` (plus loopback and the service addresses).
    """
    return _split([ipaddress.ip_network(a.network) for a in access_list(cfg)
                   if a.action == "allow"])


def dns_services(cfg: IXPConfig) -> tuple[list[str], list[str]]:
    """Addresses DNS may be sent to: the resolver's addresses and the anycast prefixes.

    Empty when the resolver is off: nothing listens then, and DNS is dropped like any other
    unexpected traffic.
    """
    res = cfg.services.resolver
    if not res.enabled:
        return [], []
    nets: list[Net] = [ipaddress.ip_network(a) for a in [*res.ipv4, *res.ipv6]]
    nets += [ipaddress.ip_network(a.prefix) for a in cfg.services.anycast]
    return _split(nets)


def _set(name: str, kind: str, elements: list[str], interval: bool) -> str:
    flags = " flags interval;" if interval else ""
    elems = f" elements = {{ {', '.join(elements)} }}" if elements else ""
    return f"\tset {name} {{ type {kind};{flags}{elems} }}"


def _drop(reason: str, match: str = "") -> str:
    return f"\t\t{match + ' ' if match else ''}counter name {_q(reason)} drop"


def _ports(ports: Iterable[int]) -> str:
    uniq = sorted(set(ports))
    return str(uniq[0]) if len(uniq) == 1 else "{ " + ", ".join(map(str, uniq)) + " }"


def _echo_limits() -> list[str]:
    # Before the conntrack rule: conntrack files every echo request of one ping run under one
    # flow, so after the first they would all be "established" and never reach the limit.
    limit = f"limit rate {ICMP_RATE}/second burst {ICMP_BURST} packets"
    return [f"\t\ticmp type echo-request {limit} accept",
            _drop("icmp_flood", "icmp type echo-request"),
            f"\t\ticmpv6 type echo-request {limit} accept",
            _drop("icmp_flood", "icmpv6 type echo-request")]


def _icmp_chains() -> list[str]:
    return [
        "\tchain icmp4 {",
        "\t\t# errors carry PMTU discovery (fragmentation needed) and unreachables",
        "\t\ticmp type { destination-unreachable, time-exceeded, parameter-problem } accept",
        "\t}",
        "",
        "\tchain icmp6 {",
        "\t\ticmpv6 type { destination-unreachable, packet-too-big, time-exceeded, "
        "parameter-problem } accept",
        "\t\t# neighbour discovery: only from the link itself (hop limit 255, RFC 4861)",
        "\t\ticmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } ip6 hoplimit 255 accept",
        "\t\ticmpv6 type { mld-listener-query, mld-listener-report, mld2-listener-report } "
        "ip6 saddr fe80::/10 accept",
        "\t}",
    ]


def _mgmt_chain(cfg: IXPConfig, dns: bool) -> list[str]:
    snmp = cfg.snmp
    tcp = _ports(MGMT_TCP_PORTS)
    out = [
        "\tchain mgmt {",
        f"\t\t# {cfg.management.interface}: the management NIC",
        "\t\t# DHCP and DHCPv6 client: offers may be broadcast, which conntrack cannot match",
        "\t\tmeta nfproto ipv4 udp sport 67 udp dport 68 accept",
        "\t\tip6 saddr fe80::/10 udp sport 547 udp dport 546 accept",
        "\t\t# SLAAC: router advertisements from the management network's router",
        "\t\ticmpv6 type nd-router-advert ip6 hoplimit 255 ip6 saddr fe80::/10 accept",
    ]
    services = [f"tcp dport {tcp}"]
    if snmp.enabled:
        services.append(f"udp dport {snmp.port}")
    if mgmt_sources(cfg) is None:
        out.append("\t\t# SSH, web UI, SNMP: management.allowed_networks is empty, so any source")
        out += [f"\t\t{svc} accept" for svc in services]
    else:
        out.append("\t\t# SSH, web UI, SNMP: management.allowed_networks and the recovery "
                   "networks")
        for svc in services:
            out.append(f"\t\tip saddr @mgmt_allowed4 {svc} accept")
            out.append(f"\t\tip6 saddr @mgmt_allowed6 {svc} accept")
        out += [_drop("mgmt_source", svc) for svc in services]
    if dns:
        out.append(f"\t\tmeta l4proto {{ tcp, udp }} th dport {DNS_PORT} jump dns")
    out += [_drop("mgmt_other"), "\t}"]
    return out


def _lan_chain(cfg: IXPConfig, dns: bool) -> list[str]:
    out = [
        "\tchain lan {",
        f"\t\t# {cfg.peering_lan.bridge}: the peering LAN; BGP only from members' addresses",
        f"\t\tip saddr @bgp_peers4 tcp dport {BGP_PORT} accept",
        f"\t\tip6 saddr @bgp_peers6 tcp dport {BGP_PORT} accept",
        _drop("bgp_source", f"tcp dport {BGP_PORT}"),
    ]
    if bfd_enabled(cfg):
        out += [f"\t\tip saddr @bgp_peers4 udp dport {_ports(BFD_PORTS)} accept",
                f"\t\tip6 saddr @bgp_peers6 udp dport {_ports(BFD_PORTS)} accept",
                _drop("bgp_source", f"udp dport {_ports(BFD_PORTS)}")]
    if dns:
        out.append(f"\t\tmeta l4proto {{ tcp, udp }} th dport {DNS_PORT} jump dns")
    out += [
        "\t\t# the management plane is never reachable from the peering LAN",
        _drop("lan_mgmt", f"tcp dport {_ports(MGMT_TCP_PORTS)}"),
        _drop("lan_mgmt", f"udp dport {_ports((SNMP_DEFAULT_PORT, cfg.snmp.port))}"),
        _drop("lan_other"),
        "\t}",
    ]
    return out


def _dns_chain() -> list[str]:
    return [
        "\tchain dns {",
        "\t\t# to the resolver's service addresses, from the networks it answers",
        "\t\tip daddr @dns_service4 ip saddr @dns_clients4 accept",
        "\t\tip6 daddr @dns_service6 ip6 saddr @dns_clients6 accept",
        _drop("dns_source"),
        "\t}",
    ]


def _chains(dns: bool) -> set[str]:
    """Every chain ``_body`` defines."""
    return {"input", "icmp4", "icmp6", "mgmt", "lan", *(["dns"] if dns else [])}


def _counters() -> dict[str, str]:
    """name -> comment of every named counter ``_body`` defines."""
    return {r: f"reason={r}" for r in REASONS}


def _has_dns(cfg: IXPConfig) -> bool:
    svc4, svc6 = dns_services(cfg)
    return bool(svc4 or svc6)


def _body(cfg: IXPConfig, digest: str = "") -> list[str]:
    """The table's definition; ``digest`` goes in the first rule's comment (see module doc)."""
    mgmt, lan = cfg.management.interface, cfg.peering_lan.bridge
    peers4, peers6 = bgp_peers(cfg)
    svc4, svc6 = dns_services(cfg)
    dns = bool(svc4 or svc6)
    out = [f"\tcounter {name} {{ comment {_q(comment)} }}" for name, comment in _counters().items()]
    out += [_set("bgp_peers4", "ipv4_addr", peers4, False),
            _set("bgp_peers6", "ipv6_addr", peers6, False)]
    sources = mgmt_sources(cfg)
    if sources is not None:
        out += [_set("mgmt_allowed4", "ipv4_addr", sources[0], True),
                _set("mgmt_allowed6", "ipv6_addr", sources[1], True)]
    if dns:
        cli4, cli6 = dns_clients(cfg)
        out += [_set("dns_service4", "ipv4_addr", svc4, True),
                _set("dns_service6", "ipv6_addr", svc6, True),
                _set("dns_clients4", "ipv4_addr", cli4, True),
                _set("dns_clients6", "ipv6_addr", cli6, True)]
    out += [
        "",
        "\tchain input {",
        "\t\ttype filter hook input priority filter; policy accept;",
        "\t\tiif lo accept" + (f" comment {_q(DIGEST_PREFIX + digest)}" if digest else ""),
        "\t\t# the box has no other network (a free NIC, a VLAN trunk): nothing is answered",
        "\t\t# there, ping included; counted (the policy stays accept so that a flushed chain",
        "\t\t# can never lock the operator out)",
        _drop("other_interface", f"iifname != {{ {_q(mgmt)}, {_q(lan)} }}"),
        *_echo_limits(),
        "\t\tct state established,related accept",
        _drop("invalid", "ct state invalid"),
        "\t\tmeta l4proto icmp jump icmp4",
        "\t\tmeta l4proto ipv6-icmp jump icmp6",
        f"\t\tiifname vmap {{ {_q(mgmt)} : jump mgmt, {_q(lan)} : jump lan }}",
        _drop("other_interface"),
        "\t}",
        "",
        *_icmp_chains(),
        "",
        *_mgmt_chain(cfg, dns),
        "",
        *_lan_chain(cfg, dns),
    ]
    if dns:
        out += ["", *_dns_chain()]
    return out


def can_update_in_place(running: RunningTable) -> bool:
    """Whether the loaded table can take the rules in place (else it is replaced).

    Not when it holds objects an update cannot delete, nor when the table itself carries a
    comment (older versions put the digest there, and an update cannot remove it).
    """
    return running.updatable and not running.comment


def render_firewall(cfg: IXPConfig, running: RunningTable | None = None) -> str:
    """The whole ruleset file for ``cfg`` (same input, same text).

    Without ``running``: the file that replaces our table (``delete table``), counters from
    zero; this is the installed file. With ``running`` (what the loaded table holds): the same
    rules as an in-place update that keeps every counter that stays. Either way the first
    rule carries the SHA-256 of the definition, so apply can tell from the running table
    whether it is this rendering without loading anything (and the counters keep counting).
    """
    if running is not None and not can_update_in_place(running):
        raise ValueError("the loaded table cannot be updated in place; replace it")
    digest = hashlib.sha256("\n".join(_body(cfg)).encode("utf-8")).hexdigest()
    head = ([f"delete table {FAMILY} {TABLE}"] if running is None else
            update_head(FAMILY, TABLE, running, chains=_chains(_has_dns(cfg)),
                        counters=_counters()))
    out = [
        "#!/usr/sbin/nft -f",
        "# Management-plane isolation, generated by the IXP appliance from its configuration.",
        "# Do not edit: the next apply replaces it. Only this table is replaced.",
        f"table {FAMILY} {TABLE}",
        *head,
        f"table {FAMILY} {TABLE} {{",
        *_body(cfg, digest),
        "}",
        "",
    ]
    return "\n".join(out)


def ruleset_digest(text: str) -> str | None:
    """The digest in a rendered file or in ``nft list table`` output; None if it has none."""
    m = _DIGEST_RE.search(text)
    return m.group(1) if m else None
