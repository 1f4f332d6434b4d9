"""The peering LAN hygiene ruleset (nftables, bridge family), rendered per member port (pure).

Every frame a member sends is checked at the bridge's prerouting hook, before it is forwarded
or delivered to the route server. Each drop rule has a named counter per port and reason, so
the operator (and the UI, SNMP, metrics) can see who sent what. Frames to 802.1 link-local
addresses (LLDP, LACP...) never reach prerouting, so the input hook checks those.

The file replaces only our own table, in one transaction: ``table`` + ``delete table`` +
definition. Other tables (the host's firewall, other concerns) are never touched.

No port chain holds an anonymous set (``{ ... }``): with one per port and check, 1000 ports
made some 12 000 of them, and the kernel names each new anonymous set by walking all the others
of the table, so ``nft -c -f`` took some 46 s (the timeout is 60 s) where it now takes 1 s.
What every port checks the same way is one named set declared once (``tagged_types``...);
what differs per port (its MACs, ARP senders, ND targets) is one table-wide named set keyed by
the interface (``iifname . ether saddr``), looked up from the port's chain.

When the table is already loaded, an apply loads the same rules *in place* instead, so the
drop counters keep counting (issue 13): ``flush table`` (every rule goes), ``delete`` of each
chain, set or counter the new ruleset does not have, then the definition. Named counters that
exist already are left as they are by the definition (nft adds only what is missing), so not
one packet is lost or counted twice, and it is still one atomic transaction. The sets above
are deleted too and declared afresh in the same transaction (re-declaring a set would *add*
to its old elements): a MAC removed from a member is gone from ``port_macs`` the moment the
update commits. Only the traffic matrix's sets keep their elements. What the table holds now
comes in as data (``RunningTable``), so rendering stays pure. The generic part is
``appliance.platform.nft`` (shared with the management firewall).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass

from appliance.bridge.desired import PortSpec, member_ports
from appliance.bridge.matrix import FAMILY, MATRIX_SETS, TABLE
from appliance.bridge.reasons import REASONS, TAG_BYTES, TAGGED
from appliance.config.model import IXPConfig
from appliance.platform.nft import DELETABLE, RunningObject, RunningTable, update_head

__all__ = ["DELETABLE", "FAMILY", "REASONS", "STORM_BURST", "STORM_PPS", "TABLE", "TAGGED",
           "TAG_BYTES", "PortRules", "RunningObject", "RunningTable", "nft_token", "port_rules",
           "render_hygiene"]


# Storm control, per port, for broadcast and (separately) multicast frames. ARP/ND for member
# addresses is answered by the bridge itself, so a healthy router sends only a few per second.
# Defaults of peering_lan.storm_pps and storm_burst (used when rendering without a config value).
STORM_PPS = 100
STORM_BURST = 100


_LINK_LOCAL = "ether daddr & ff:ff:ff:ff:ff:f0 == 01:80:c2:00:00:00"
# 802.1Q/802.1ad: before any hook, the kernel moves a frame's outer tag into packet metadata, and
# ``meta l4proto`` (the fast path) then sees the inner packet as plain TCP/UDP. ``ether type``
# reads the tag back from the metadata, so this matches every tagged frame, on any kernel. It
# is the first rule of each port chain: nothing is accepted before it, and no other counter
# ever sees a tagged frame. On a VLAN port (``eth1.101``) the kernel's 802.1Q device has taken
# the member's own tag off already, so a tag seen here is a second one (QinQ): dropped too.
_TAG = "ether type @tagged_types"
_MULTICAST = "ether daddr & 01:00:00:00:00:00 == 01:00:00:00:00:00"
# IXP rules (AMS-IX, LINX, France-IX; MANRS action 3) allow as non-unicast only ARP broadcast
# and IPv6 neighbour discovery. What the bridge floods is decided by the destination MAC, so
# that is what is checked: an IPv4 frame to a group MAC other than broadcast, and an IPv6 frame
# to any group MAC (IPv6 has no broadcast) unless it is a neighbour solicitation or
# advertisement (RS, RA and redirects are dropped above under their own reasons).
_IPV4_MULTICAST = f"ether type ip {_MULTICAST} ether daddr != ff:ff:ff:ff:ff:ff"
_IPV6_MULTICAST = (f"ether type ip6 {_MULTICAST} meta l4proto != ipv6-icmp",
                   f"ether type ip6 {_MULTICAST} icmpv6 type != @nd_types")
# Bulk member-to-member traffic (unicast TCP, and UDP other than DHCP) cannot match any drop
# rule below the source check, so it leaves the chain here: the throughput cost of hygiene
# stays a few rule evaluations per packet. Not for ports in quarantine.
_FAST_PATH = ("\t\tether daddr & 01:00:00:00:00:00 == 00:00:00:00:00:00 "
              "meta l4proto @bulk_protos th dport != @dhcp_ports accept")

# The named sets every port chain shares (name, type, elements), declared once in the table.
_SHARED_SETS = (
    ("tagged_types", "ether_type", "8021q, 8021ad"),
    ("allowed_types", "ether_type", "ip, arp, ip6"),
    ("bulk_protos", "inet_proto", "tcp, udp"),
    ("dhcp_ports", "inet_service", "67, 68, 546, 547"),  # DHCP and DHCPv6, both directions
    ("bpdu_macs", "ether_addr", "01:80:c2:00:00:00, 01:00:0c:cc:cc:cd"),  # STP and Cisco PVST
    ("nd_types", "icmpv6_type", "nd-neighbor-solicit, nd-neighbor-advert"),
)
# The per-port sets, one each for the whole table, keyed by the port (its interface name).
# ``@th,64,128`` is the neighbour advertisement's target address (nft 1.0.6 has no name for
# it): as a raw payload it concatenates with ``iifname`` in a typeof set; a ``type ifname .
# ipv6_addr`` set would not match it (nft 1.0.6: datatype mismatch, integer vs IPv6 address).
_PORT_SETS = {
    "port_macs": "iifname . ether saddr",
    "arp_senders": "iifname . arp saddr ip",
    "nd_targets": "iifname . @th,64,128",
}


@dataclass(frozen=True)
class PortRules:
    """One port's identifiers in the ruleset."""

    port: PortSpec
    token: str  # nft-safe form of the interface name

    def counter(self, reason: str) -> str:
        """The named counter for ``reason`` on this port, e.g. ``ixp1/src_mac``."""
        return f"{self.token}/{reason}"

    @property
    def tag_counter(self) -> str:
        """The hidden counter of tagged frames dropped (also counted in ``ethertype``)."""
        return f"{self.token}/{TAGGED}"

    @property
    def chain(self) -> str:
        """The port's own chain."""
        return f"port_{self.token}"


def nft_token(ifname: str) -> str:
    """An nft identifier for an interface name (nft names allow letters, digits, _ . - /)."""
    token = re.sub(r"[^A-Za-z0-9_.-]", "_", ifname)
    return token if token[0].isalpha() or token[0] == "_" else f"p{token}"


def port_rules(cfg: IXPConfig) -> list[PortRules]:
    """Every member port with a unique nft token, in config order."""
    out: list[PortRules] = []
    used: set[str] = set()
    for p in member_ports(cfg):
        token = nft_token(p.ifname)
        base, n = token, 1
        while token in used:  # names differing only in '@' or ':' (rare) stay distinct
            n += 1
            token = f"{base}_{n}"
        used.add(token)
        out.append(PortRules(p, token))
    return out


def _q(text: str) -> str:
    return '"' + text.replace('"', "") + '"'


def _counters(pr: PortRules) -> list[tuple[str, str]]:
    """(name, comment) of the port's named counters."""
    reasons = [r for r in REASONS if not r.startswith("quarantine")]
    if pr.port.quarantine:
        reasons += ["quarantine", "quarantine_to"]
    return [*((pr.counter(r), f"port={pr.port.ifname} reason={r}") for r in reasons),
            (pr.tag_counter, f"port={pr.port.ifname} {TAGGED}=ethertype")]


def _counter_decls(pr: PortRules) -> list[str]:
    return [f"\tcounter {name} {{ comment {_q(comment)} }}" for name, comment in _counters(pr)]


def _chains(ports: Sequence[PortRules], matrix: bool) -> set[str]:
    """Every chain ``render_hygiene`` defines for ``ports``."""
    chains = {"prerouting", "input", *(pr.chain for pr in ports)}
    quarantined = [f"to_{pr.token}" for pr in ports if pr.port.quarantine]
    return chains | ({"forward"} if quarantined or matrix else set()) | set(quarantined)


# The exact traffic matrix (issue 18): every frame one member's port forwards to another's,
# counted in the kernel per (source MAC, destination MAC) and family, in a dynamic set with a
# counter per element. Dropped frames never reach the forward hook; the route server's own
# traffic is not forwarded, so only member-to-member traffic is counted. Bytes are the IP
# packets' (nft's bridge family counts from after the 14-byte Ethernet header).
MATRIX_SIZE = 65536  # pairs per family: 256 members' every ordered pair


def _matrix(cfg: IXPConfig) -> bool:
    return cfg.peering_lan.traffic_matrix


def _update_in_place(ports: Sequence[PortRules], running: RunningTable,
                     cfg: IXPConfig) -> list[str]:
    """The lines that empty the loaded table of everything but the counters that stay.

    Every set but the matrix's goes (``update_head`` keeps only the ``sets`` named): the
    shared and per-port sets are declared again below with exactly the new elements.
    """
    return update_head(FAMILY, TABLE, running, chains=_chains(ports, _matrix(cfg)),
                       counters=dict(c for pr in ports for c in _counters(pr)),
                       sets=MATRIX_SETS.values() if _matrix(cfg) else ())


def _drop(pr: PortRules, reason: str, match: str) -> str:
    return f"\t\t{match + ' ' if match else ''}counter name {_q(pr.counter(reason))} drop"


def _drop_tagged(pr: PortRules) -> str:
    return (f"\t\t{_TAG} counter name {_q(pr.counter('ethertype'))} "
            f"counter name {_q(pr.tag_counter)} drop")


def _quarantine_rules(pr: PortRules, cfg: IXPConfig) -> list[str]:
    rs = cfg.route_server
    lines = ["\t\t# quarantine: only ARP, ND and BGP with the route server",
             "\t\tether type arp accept",
             "\t\ticmpv6 type @nd_types accept"]
    for fam, addr in (("ip", rs.ipv4), ("ip6", rs.ipv6)):
        if addr is not None:
            lines.append(f"\t\t{fam} daddr {addr} tcp dport 179 accept")
            lines.append(f"\t\t{fam} daddr {addr} tcp sport 179 accept")
    lines.append(_drop(pr, "quarantine", ""))
    return lines


def _port_elements(port: PortSpec) -> dict[str, list[str]]:
    """The port's elements of each per-port set (without the ``"ifname" .`` key)."""
    return {
        "port_macs": list(port.macs),
        # 0.0.0.0 is the sender of an ARP probe (RFC 5227) and must pass.
        "arp_senders": ["0.0.0.0", *port.ipv4],
        "nd_targets": [f"0x{ipaddress.IPv6Address(a).packed.hex()}" for a in port.ipv6],
    }


def _port_sets(ports: Sequence[PortRules]) -> list[str]:
    """The per-port sets, every port's elements on lines of their own, port by port."""
    out = []
    for name, key in _PORT_SETS.items():
        elements = [f"{_q(pr.port.ifname)} . {e}" for pr in ports
                    for e in _port_elements(pr.port)[name]]
        out.append(f"\tset {name} {{")
        out.append(f"\t\ttypeof {key}")
        if elements:
            out.append("\t\telements = {")
            out += [f"\t\t\t{e}," for e in elements[:-1]] + [f"\t\t\t{elements[-1]}"]
            out.append("\t\t}")
        out.append("\t}")
    return out


# No ND target on the port (no IPv6 address): the set has none of its, so every advertisement
# of a global address is dropped, as before. Link-local targets (fe80::/10) are the member's
# own business.
_ND_SPOOF = ("icmpv6 type nd-neighbor-advert @th,64,16 & 0xffc0 != 0xfe80 "
             "iifname . @th,64,128 != @nd_targets")


def _blackhole_drops(pr: PortRules, cfg: IXPConfig) -> list[str]:
    """Frames to the blackhole MAC end here, counted, before they reach any other port; only
    neighbour solicitations pass (a router checking that the blackhole is reachable)."""
    if cfg.route_server.blackhole_ipv4 is None and cfg.route_server.blackhole_ipv6 is None:
        return []
    mac = cfg.route_server.blackhole_mac
    return [_drop(pr, "blackhole", f"ether daddr {mac} meta l4proto != ipv6-icmp"),
            _drop(pr, "blackhole", f"ether daddr {mac} icmpv6 type != nd-neighbor-solicit")]


def _port_chain(pr: PortRules, cfg: IXPConfig, storm_pps: int, storm_burst: int) -> list[str]:
    limit = f"limit rate over {storm_pps}/second burst {storm_burst} packets"
    lines = [
        f"\tchain {pr.chain} {{",
        f"\t\t# {pr.port.ifname}: {pr.port.member} ({pr.port.field})",
        *([] if pr.port.vid is None else
          [f"\t\t# VLAN {pr.port.vid} on {pr.port.parent}: its 802.1Q device delivers only "
           f"that VLAN here, untagged"]),
        f"\t\t# its MACs, ARP senders, ND targets: {_q(pr.port.ifname)} in @port_macs, "
        "@arp_senders, @nd_targets",
        _drop_tagged(pr),
        _drop(pr, "src_mac", "iifname . ether saddr != @port_macs"),
        *_blackhole_drops(pr, cfg),
        *([] if pr.port.quarantine else [_FAST_PATH]),
        _drop(pr, "bpdu", "ether daddr @bpdu_macs"),
        _drop(pr, "link_local", _LINK_LOCAL),
        _drop(pr, "ethertype", "ether type != @allowed_types"),
        _drop(pr, "ra", "icmpv6 type nd-router-advert"),
        _drop(pr, "rs", "icmpv6 type nd-router-solicit"),
        _drop(pr, "redirect6", "icmpv6 type nd-redirect"),
        _drop(pr, "dhcpv6", "ether type ip6 udp dport 546-547"),  # a range: no set
        _drop(pr, "dhcp", "ether type ip udp dport 67-68"),
        _drop(pr, "icmp_redirect", "icmp type redirect"),
        _drop(pr, "arp_spoof", "iifname . arp saddr ip != @arp_senders"),
        _drop(pr, "arp_spoof", "iifname . arp saddr ether != @port_macs"),
        _drop(pr, "nd_spoof", _ND_SPOOF),
        # after DHCP (its own reason): NetBIOS, discovery and subnet-broadcast pings go here
        _drop(pr, "ipv4_broadcast", "ether type ip ether daddr ff:ff:ff:ff:ff:ff"),
        _drop(pr, "ipv4_multicast", _IPV4_MULTICAST),
        *(_drop(pr, "ipv6_multicast", match) for match in _IPV6_MULTICAST),
        _drop(pr, "storm_bcast", f"ether daddr ff:ff:ff:ff:ff:ff {limit}"),
        _drop(pr, "storm_mcast", f"{_MULTICAST} ether daddr != ff:ff:ff:ff:ff:ff {limit}"),
    ]
    if pr.port.quarantine:
        lines += _quarantine_rules(pr, cfg)
    lines.append("\t}")
    return lines


def _quarantine_to_chain(pr: PortRules) -> list[str]:
    return [
        f"\tchain to_{pr.token} {{",
        f"\t\t# {pr.port.ifname} is in quarantine: other members reach it only with ARP/ND",
        "\t\tether type arp accept",
        "\t\ticmpv6 type @nd_types accept",
        _drop(pr, "quarantine_to", ""),
        "\t}",
    ]


def _vmap(key: str, entries: list[tuple[str, str]]) -> str:
    items = ", ".join(f"{_q(name)} : jump {chain}" for name, chain in entries)
    return f"{key} vmap {{ {items} }}"


def render_hygiene(cfg: IXPConfig, *, storm_pps: int = STORM_PPS,
                   storm_burst: int = STORM_BURST, running: RunningTable | None = None) -> str:
    """The whole ruleset file for ``cfg`` (same input, same text).

    Without ``running``: the file that replaces our table (``delete table``), counters from
    zero. With ``running`` (what the loaded table holds, see ``RunningTable``): the same rules
    as an in-place update that keeps the counters of every port and reason that stays.
    """
    ports = port_rules(cfg)
    quarantined = [pr for pr in ports if pr.port.quarantine]
    if running is not None and not running.updatable:
        raise ValueError("the loaded table holds objects an update cannot remove; replace it")
    out = [
        "#!/usr/sbin/nft -f",
        "# Peering LAN hygiene, generated by the IXP appliance from its configuration.",
        "# Do not edit: the next apply replaces it. Only this table is replaced.",
        f"table {FAMILY} {TABLE}",
        *([f"delete table {FAMILY} {TABLE}"] if running is None
          else _update_in_place(ports, running, cfg)),
        f"table {FAMILY} {TABLE} {{",
    ]
    for pr in ports:
        out += _counter_decls(pr)
    # Declared before the chains that look them up.
    out += ["", "\t# what every port chain checks the same way"]
    out += [f"\tset {name} {{ type {kind}; elements = {{ {elements} }}; }}"
            for name, kind, elements in _SHARED_SETS]
    out += ["", "\t# what each port may send, keyed by its interface name (see its chain)"]
    out += _port_sets(ports)
    dispatch = [(pr.port.ifname, pr.chain) for pr in ports]
    out += ["", "\tchain prerouting {",
            "\t\ttype filter hook prerouting priority filter; policy accept;"]
    if dispatch:
        out.append("\t\t" + _vmap("iifname", dispatch))
    out += ["\t}", "", "\tchain input {",
            "\t\ttype filter hook input priority filter; policy accept;",
            "\t\t# 802.1 link-local frames skip prerouting; everything else was checked there"]
    if dispatch:
        out.append(f"\t\t{_LINK_LOCAL} " + _vmap("iifname", dispatch))
    out += ["\t}"]
    if _matrix(cfg):
        out += [f"\tset {name} {{ type ether_addr . ether_addr; size {MATRIX_SIZE}; "
                f"flags dynamic; counter; }}" for name in MATRIX_SETS.values()]
    if quarantined or _matrix(cfg):
        out += ["", "\tchain forward {",
                "\t\ttype filter hook forward priority filter; policy accept;"]
        if _matrix(cfg):
            out += ["\t\t# the traffic matrix: bytes and packets per member pair, exact"]
            out += [f"\t\tether type {fam} add @{name} {{ ether saddr . ether daddr }}"
                    for fam, name in MATRIX_SETS.items()]
        if quarantined:
            out.append("\t\t" + _vmap("oifname", [(pr.port.ifname, f"to_{pr.token}")
                                                  for pr in quarantined]))
        out += ["\t}"]
    for pr in ports:
        out += ["", *_port_chain(pr, cfg, storm_pps, storm_burst)]
    for pr in quarantined:
        out += ["", *_quarantine_to_chain(pr)]
    out += ["}", ""]
    return "\n".join(out)
