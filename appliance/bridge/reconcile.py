"""Bring the running peering LAN to the configuration: read, plan, write only the difference.

Every netlink write goes through ``NetlinkWriter``, which records it; the list it returns is
the exact set of writes performed, so "a second apply writes nothing" is checkable.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field, replace
from typing import Any

from pyroute2.netlink.rtnl.ndmsg import flags as NTF
from pyroute2.netlink.rtnl.ndmsg import states as NUD

from appliance.bridge.desired import BLACKHOLE_PEER, desired_state
from appliance.bridge.netlink_state import read_state
from appliance.bridge.plan import Op, make_plan
from appliance.config.model import IXPConfig
from appliance.platform import netns as labns
from appliance.platform.netlink import IFA_F_NODAD, open_netlink, where
from appliance.platform.target import Target


def blackhole_netns(target: Target) -> str:
    """The blackhole's own namespace: beside the lab's appliance namespace, or on the box."""
    return f"{target.netns}-bh" if target.netns else "ixp-blackhole"


@dataclass
class NetlinkWriter:
    """Performs plan operations over one netlink socket and records each write."""

    ipr: Any
    target: Target  # where ``ipr`` works (the blackhole's namespace is named after it)
    writes: list[Op] = field(default_factory=list)

    def _index(self, name: str) -> int:
        found = self.ipr.link_lookup(ifname=name)
        if not found:
            raise RuntimeError(f"interface {name} disappeared while the bridge was reconciled")
        return found[0]

    def run(self, op: Op) -> None:
        """Perform ``op`` (one netlink request) and record it."""
        getattr(self, f"_{op.kind}")(op)
        self.writes.append(op)

    def _bridge(self, op: Op) -> None:
        p = dict(op.params)
        name = p.pop("ifname")
        if op.action == "add":
            # Created down and with every attribute at once; brought up in the same request.
            self.ipr.link("add", ifname=name, kind="bridge", state="up", **p)
        elif p.pop("state", None) == "up":
            self.ipr.link("set", index=self._index(name), state="up")
        else:
            self.ipr.link("set", index=self._index(name), kind="bridge", **p)

    def _blackhole(self, op: Op) -> None:
        """A veth pair: the port on the bridge, and its far end with the blackhole MAC in a
        namespace of its own, answering ND for the IPv6 blackhole address (never the box's)."""
        name = blackhole_netns(self.target)
        if op.action == "remove":
            self.ipr.link("del", index=self._index(op.param("ifname")))
            labns.remove(name)
            return
        labns.remove(name)  # a leftover of a crash: made again from nothing
        labns.create(name)
        self.ipr.link("add", ifname=op.param("ifname"), kind="veth", peer={
            "ifname": BLACKHOLE_PEER, "address": op.param("mac"), "net_ns_fd": name})
        self.ipr.link("set", index=self._index(op.param("ifname")), ifalias=op.param("alias"))
        with open_netlink(name) as far:
            index = far.link_lookup(ifname=BLACKHOLE_PEER)[0]
            # No link-local address, router solicitations or RA: it answers ND and nothing else.
            for key, value in (("addr_gen_mode", 1), ("accept_ra", 0),
                               ("router_solicitations", 0)):
                labns.write_net_sysctl(name, f"ipv6/conf/{BLACKHOLE_PEER}/{key}", value)
            far.link("set", index=index, state="up")
            if op.param("ipv6"):
                iface = ipaddress.ip_interface(op.param("ipv6"))
                far.addr("add", index=index, address=str(iface.ip),
                         prefixlen=iface.network.prefixlen, flags=IFA_F_NODAD)

    def _vlan(self, op: Op) -> None:
        self.ipr.link("add", ifname=op.param("ifname"), kind="vlan",
                      link=self._index(op.param("parent")), vlan_id=op.param("vid"))

    def _trunk(self, op: Op) -> None:
        p = dict(op.params)
        if "arp_ignore" in p:  # a sysctl, not a link attribute
            labns.write_net_sysctl(self.target.netns, f"ipv4/conf/{p['ifname']}/arp_ignore",
                                   int(p["arp_ignore"]))
        kwargs: dict[str, Any] = {"state": "up"} if p.get("up") else {}
        if p.get("mtu"):
            kwargs["mtu"] = p["mtu"]
        if kwargs:
            self.ipr.link("set", index=self._index(op.param("ifname")), **kwargs)

    def _port(self, op: Op) -> None:
        p = dict(op.params)
        index = self._index(p.pop("ifname"))
        if op.action == "remove":
            self.ipr.link("set", index=index, master=0)
            return
        kwargs: dict[str, Any] = {}
        if "master" in p:
            kwargs["master"] = self._index(p["master"])
        if "mtu" in p:
            kwargs["mtu"] = p["mtu"]
        if p.get("up"):
            kwargs["state"] = "up"
        self.ipr.link("set", index=index, **kwargs)

    def _brport(self, op: Op) -> None:
        p = dict(op.params)
        self.ipr.brport("set", index=self._index(p.pop("ifname")), **p)

    def _fdb(self, op: Op) -> None:
        # NUD_NOARP alone is a "static" entry that forwards to the port; NUD_PERMANENT would
        # make the MAC local to the bridge (pyroute2's fdb() helper adds that by default).
        cmd = "replace" if op.action == "add" else "del"
        self.ipr.neigh(cmd, family=socket.AF_BRIDGE, ifindex=self._index(op.param("ifname")),
                       lladdr=op.param("mac"), state=NUD["noarp"], flags=NTF["master"])

    def _neigh(self, op: Op) -> None:
        ip = ipaddress.ip_address(op.param("ip"))
        family = socket.AF_INET if ip.version == 4 else socket.AF_INET6
        index = self._index(op.param("bridge"))
        if op.action == "remove":
            self.ipr.neigh("del", family=family, ifindex=index, dst=str(ip))
        else:
            self.ipr.neigh("replace", family=family, ifindex=index, dst=str(ip),
                           lladdr=op.param("mac"), state=NUD["permanent"])

    def _address(self, op: Op) -> None:
        iface = ipaddress.ip_interface(op.param("address"))
        index = self._index(op.param("bridge"))
        if op.action == "remove":
            self.ipr.addr("del", index=index, address=str(iface.ip),
                          prefixlen=iface.network.prefixlen)
        else:
            # No DAD: the address is ours by configuration, and BGP must bind to it at once.
            self.ipr.addr("add", index=index, address=str(iface.ip),
                          prefixlen=iface.network.prefixlen, flags=IFA_F_NODAD)


def plan_bridge(cfg: IXPConfig, target: Target,
                planned: frozenset[str] | set[str] = frozenset()) -> list[Op]:
    """The netlink writes that ``reconcile`` would perform now (reads only).

    ``planned`` names interfaces that an earlier step of the same apply creates (the lab's
    port for a new member): they are planned as ports joining, not refused as missing.
    """
    desired = desired_state(cfg)
    later = [p for p in desired.ports if (p.parent or p.ifname) in planned]
    if later:
        names = {p.ifname for p in later}
        desired = replace(desired, ports=tuple(p for p in desired.ports if p not in later),
                          fdb=frozenset(e for e in desired.fdb if e[0] not in names))
    with open_netlink(target.netns) as ipr:
        ops = make_plan(desired, read_state(ipr, cfg.peering_lan.bridge), where(target.netns))
    return ops + [Op("add", "port", f"port {p.ifname}", f"joins the bridge once created, "
                     f"locked to the MAC of {p.member}") for p in later]


def reconcile(cfg: IXPConfig, target: Target) -> list[Op]:
    """Bring the bridge in ``target``'s namespace to ``cfg``; returns the writes performed
    (empty: no-op).

    The plan is computed completely, and refused completely, before the first write.
    """
    with open_netlink(target.netns) as ipr:
        ops = make_plan(desired_state(cfg), read_state(ipr, cfg.peering_lan.bridge),
                        where(target.netns))
        writer = NetlinkWriter(ipr, target=target)
        for op in ops:
            writer.run(op)
        return writer.writes
