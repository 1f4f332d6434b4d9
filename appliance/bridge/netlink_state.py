"""What the peering LAN looks like now, read over netlink (read-only)."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field
from typing import Any

from pyroute2.netlink.rtnl.ndmsg import states as NUD

from appliance.bridge.desired import BRIDGE_ATTRS, PORT_FLAGS

IFF_UP = 0x1
RT_SCOPE_UNIVERSE = 0


@dataclass
class Link:
    """One network device as netlink reports it."""

    index: int
    name: str
    kind: str | None
    master: int | None
    mtu: int
    up: bool
    address: str | None
    parent: int | None = None  # IFLA_LINK, for VLAN devices
    alias: str | None = None  # IFLA_IFALIAS (the blackhole port keeps its signature there)
    vid: int | None = None
    brport: dict[str, int] = field(default_factory=dict)  # PORT_FLAGS keys, when a bridge port
    bridge_attrs: dict[str, int] = field(default_factory=dict)  # BRIDGE_ATTRS, when a bridge
    arp_ignore: int | None = None  # the device's IPv4 arp_ignore (IFLA_AF_SPEC, AF_INET)


@dataclass
class Current:
    """The running state relevant to one bridge."""

    links: dict[str, Link]
    bridge: Link | None
    fdb: set[tuple[str, str]] = field(default_factory=set)  # static (port, mac) entries
    neigh: dict[str, str] = field(default_factory=dict)  # permanent ip -> mac on the bridge
    addresses: set[str] = field(default_factory=set)  # global "ip/plen" on the bridge

    def ports_of_bridge(self) -> dict[str, Link]:
        """Devices enslaved to the bridge, by name."""
        if self.bridge is None:
            return {}
        return {n: x for n, x in self.links.items() if x.master == self.bridge.index}


def _nested(msg: Any, *path: str) -> Any:
    value = msg
    for key in path:
        if value is None:
            return None
        value = value.get_attr(key) if hasattr(value, "get_attr") else None
    return value


def _link(msg: Any) -> Link:
    kind = _nested(msg, "IFLA_LINKINFO", "IFLA_INFO_KIND")
    slave_kind = _nested(msg, "IFLA_LINKINFO", "IFLA_INFO_SLAVE_KIND")
    link = Link(
        index=msg["index"],
        name=msg.get_attr("IFLA_IFNAME"),
        kind=kind,
        master=msg.get_attr("IFLA_MASTER"),
        mtu=msg.get_attr("IFLA_MTU"),
        up=bool(msg["flags"] & IFF_UP),
        address=msg.get_attr("IFLA_ADDRESS"),
        parent=msg.get_attr("IFLA_LINK"),
        alias=msg.get_attr("IFLA_IFALIAS"),
    )
    spec = msg.get_attr("IFLA_AF_SPEC")
    inet = dict(spec.get("attrs", ())).get("AF_INET") if spec is not None else None
    if inet is not None:
        link.arp_ignore = inet.get("arp_ignore")
    data = _nested(msg, "IFLA_LINKINFO", "IFLA_INFO_DATA")
    if kind == "vlan" and data is not None:
        link.vid = data.get_attr("IFLA_VLAN_ID")
    if kind == "bridge" and data is not None:
        for key in BRIDGE_ATTRS:
            link.bridge_attrs[key] = data.get_attr("IFLA_" + key.upper())
    slave = _nested(msg, "IFLA_LINKINFO", "IFLA_INFO_SLAVE_DATA")
    if slave_kind == "bridge" and slave is not None:
        for key in PORT_FLAGS:
            link.brport[key] = slave.get_attr("IFLA_BRPORT_" + key.upper())
    return link


def read_links(ipr: Any) -> dict[str, Link]:
    """Every device in the namespace, by name."""
    return {x.name: x for x in (_link(m) for m in ipr.get_links())}


def read_state(ipr: Any, bridge_name: str) -> Current:
    """The devices, and the bridge's static FDB, permanent neighbours and global addresses."""
    links = read_links(ipr)
    bridge = links.get(bridge_name)
    cur = Current(links=links, bridge=bridge if bridge and bridge.kind == "bridge" else None)
    if cur.bridge is None:
        return cur
    br = cur.bridge.index
    by_index = {x.index: x.name for x in links.values()}
    ports = {x.index for x in links.values() if x.master == br}
    for n in ipr.get_neighbours(family=socket.AF_BRIDGE):
        # Static (NUD_NOARP without PERMANENT) entries on our ports are the member MACs we
        # installed; permanent ones are the ports' own addresses and are the kernel's.
        if n["ifindex"] in ports and n["state"] == NUD["noarp"] and not n.get_attr("NDA_VLAN"):
            cur.fdb.add((by_index[n["ifindex"]], n.get_attr("NDA_LLADDR")))
    for family in (socket.AF_INET, socket.AF_INET6):
        for n in ipr.get_neighbours(family=family, ifindex=br):
            if n["state"] & NUD["permanent"] and n.get_attr("NDA_LLADDR"):
                ip = str(ipaddress.ip_address(n.get_attr("NDA_DST")))
                cur.neigh[ip] = n.get_attr("NDA_LLADDR")
    for a in ipr.get_addr(index=br):
        if a["scope"] == RT_SCOPE_UNIVERSE:
            ip = ipaddress.ip_address(a.get_attr("IFA_ADDRESS"))
            cur.addresses.add(f"{ip}/{a['prefixlen']}")
    return cur
