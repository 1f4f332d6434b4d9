"""What the peering LAN bridge should look like for a configuration (pure: no I/O).

Everything the reconciler writes is derived here, so the plan is a plain comparison of this
against what netlink reports.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from appliance.config.model import BLACKHOLE_PORT, IXPConfig

IFNAMSIZ = 15  # longest Linux interface name

# Per-port bridge flags, as IFLA_BRPORT_* names in lower case (pyroute2's brport keywords).
# learning off + locked on: only the static FDB entries we install may send; a frame from any
# other source MAC is dropped by the kernel even if the nftables ruleset were missing.
# unicast_flood off: every member MAC is static, so an unknown destination is never flooded.
# bcast/mcast flood on: ARP and ND still need them (storm control limits their rate).
# proxyarp_wifi on: the bridge answers an ARP request for a member address itself, from the
# permanent neighbour entries, and does not flood the request (an ARP sponge). The kernel's
# neigh_suppress flag cannot do this here: it ignores requests that arrive on a port that has
# it set (it is meant for EVPN, where only the tunnel ports carry it), so it stays off. The
# kernel has no equivalent for IPv6 ND, so neighbour solicitations reach the members.
PORT_FLAGS: dict[str, int] = {
    "learning": 0,
    "locked": 1,
    "unicast_flood": 0,
    "mcast_flood": 1,
    "bcast_flood": 1,
    "proxyarp": 0,
    "proxyarp_wifi": 1,
    "neigh_suppress": 0,
}

# Group forward mask bit 14 (LLDP): the kernel hands LLDP frames straight to the port's own
# stack, past every netfilter hook; letting them into the bridge path is what allows the
# hygiene ruleset to drop and count them (it drops every 802.1 link-local frame).
BRIDGE_ATTRS: dict[str, int] = {
    "br_stp_state": 0,
    "br_mcast_snooping": 0,
    "br_group_fwd_mask": 1 << 14,
}


@dataclass(frozen=True)
class PortSpec:
    """One bridge port: a member's NIC, or a VLAN sub-interface on a trunk NIC."""

    ifname: str  # the device enslaved to the bridge
    field: str  # where it comes from in the config, for error messages
    member: str  # "AS64496 Island Telecom"
    macs: tuple[str, ...]
    ipv4: tuple[str, ...] = ()
    ipv6: tuple[str, ...] = ()
    quarantine: bool = False
    parent: str | None = None  # trunk NIC, for a VLAN port
    vid: int | None = None


@dataclass(frozen=True)
class BridgeSpec:
    """The bridge device itself."""

    name: str
    mtu: int
    address: str  # stable MAC, set only when the bridge is created
    attrs: tuple[tuple[str, int], ...] = tuple(sorted(BRIDGE_ATTRS.items()))


# The blackhole (issue 20): a bridge port whose far end, in a namespace of its own, carries the
# blackhole MAC and answers neighbour discovery for the IPv6 blackhole address. The bridge
# answers ARP for the IPv4 one from a permanent entry, as for the members. Frames members send
# to that MAC are dropped at their own port (bridge/render.py, reason "blackhole"); the
# addresses are never the box's own, so nothing on the box receives blackholed traffic.
BLACKHOLE_PEER = "ixbh1"


@dataclass(frozen=True)
class BlackholeSpec:
    """The blackhole's port and what its far end answers for."""

    mac: str
    ipv4: str | None  # answered by the bridge (permanent neighbour entry)
    ipv6: str | None  # "ip/prefixlen" on the far end, in the blackhole namespace

    @property
    def signature(self) -> str:
        """What the running port must carry (kept as its alias): a change recreates it."""
        return f"ixp-blackhole mac={self.mac} ipv6={self.ipv6 or '-'}"


@dataclass(frozen=True)
class Desired:
    """The whole wanted state of the peering LAN."""

    bridge: BridgeSpec
    ports: tuple[PortSpec, ...]
    fdb: frozenset[tuple[str, str]]  # (port ifname, member MAC)
    neigh: dict[str, str] = field(default_factory=dict)  # member IP -> MAC
    addresses: frozenset[str] = frozenset()  # "ip/prefixlen" on the bridge
    blackhole: BlackholeSpec | None = None


def bridge_mac(cfg: IXPConfig) -> str:
    """A locally administered MAC derived from the LAN, so it survives port changes.

    A bridge without an explicit address takes the lowest port MAC, which changes when a
    member joins or leaves and would leave the route server's MAC stale in member ARP caches.
    """
    seed = f"{cfg.peering_lan.bridge}|{cfg.peering_lan.ipv4_prefix}".encode()
    digest = hashlib.sha256(seed).digest()
    return ":".join(f"{b:02x}" for b in (0x02, *digest[:5]))


def member_ports(cfg: IXPConfig) -> list[PortSpec]:
    """Every member port in config order (the plan refuses names the kernel cannot take)."""
    ports: list[PortSpec] = []
    for i, m in enumerate(cfg.members):
        who = f"AS{m.asn} {m.name}"
        for j, p in enumerate(m.ports):
            ports.append(PortSpec(
                ifname=p.ifname,
                field=f"members[{i}].ports[{j}].interface", member=who,
                macs=tuple(m.macs), ipv4=tuple(str(a) for a in m.ipv4),
                ipv6=tuple(str(a) for a in m.ipv6), quarantine=m.quarantine,
                parent=p.interface if p.vlan is not None else None, vid=p.vlan,
            ))
    return ports


def lan_addresses(cfg: IXPConfig) -> frozenset[str]:
    """The route server's and the on-LAN service addresses, with the LAN's prefix length."""
    lan = cfg.peering_lan
    wanted = [cfg.route_server.ipv4, cfg.route_server.ipv6]
    if cfg.services.resolver.enabled:
        wanted += [*cfg.services.resolver.ipv4, *cfg.services.resolver.ipv6]
    out: set[str] = set()
    for addr in wanted:
        if addr is None:
            continue
        net = lan.ipv4_prefix if addr.version == 4 else lan.ipv6_prefix
        if net is not None and addr in net:  # anycast service addresses live elsewhere
            out.add(f"{addr}/{net.prefixlen}")
    return frozenset(out)


def blackhole_spec(cfg: IXPConfig) -> BlackholeSpec | None:
    """The blackhole when the route server rewrites blackhole next hops (else None)."""
    rs, lan = cfg.route_server, cfg.peering_lan
    if rs.blackhole_ipv4 is None and rs.blackhole_ipv6 is None:
        return None
    v6 = (f"{rs.blackhole_ipv6}/{lan.ipv6_prefix.prefixlen}"
          if rs.blackhole_ipv6 is not None and lan.ipv6_prefix is not None else None)
    return BlackholeSpec(rs.blackhole_mac, str(rs.blackhole_ipv4) if rs.blackhole_ipv4 else None,
                         v6)


def desired_state(cfg: IXPConfig) -> Desired:
    """The peering LAN for ``cfg``."""
    ports = member_ports(cfg)
    neigh: dict[str, str] = {}
    for m in cfg.members:
        # Addresses belong to the member's first MAC: one router per member entry.
        for addr in (*m.ipv4, *m.ipv6):
            neigh[str(addr)] = m.macs[0]
    blackhole = blackhole_spec(cfg)
    if blackhole is not None:
        ports.append(PortSpec(BLACKHOLE_PORT, "route_server.blackhole_mac", "the blackhole",
                              (blackhole.mac,)))
        if blackhole.ipv4:
            neigh[blackhole.ipv4] = blackhole.mac
    fdb = frozenset((p.ifname, mac) for p in ports for mac in p.macs)
    return Desired(
        bridge=BridgeSpec(cfg.peering_lan.bridge, cfg.peering_lan.mtu, bridge_mac(cfg)),
        ports=tuple(ports),
        fdb=fdb,
        neigh=neigh,
        addresses=lan_addresses(cfg),
        blackhole=blackhole,
    )
