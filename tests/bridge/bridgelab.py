"""Helpers for the peering LAN tests: configs, the LAN's namespaces, snapshots, netlink events.

The namespaces are a lab's (``labkit.netlab``: the ``netlab`` fixture, or ``applied_lan``),
removed with it; raw frames go through ``labkit.frames``. Nothing touches the host's
interfaces.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from appliance.config.loader import config_from_data
from appliance.config.model import IXPConfig
from appliance.platform.target import Target
from labkit import netlab
from labkit.frames import SO_RCVBUFFORCE, ns_socket
from labkit.netlab import Host, NetLab, sh

LAN4 = "203.0.113.0/24"
LAN6 = "2001:db8:eeee::/64"
RS4 = "203.0.113.1"
RS6 = "2001:db8:eeee::1"


def member_mac(i: int) -> str:
    """The registered MAC of member ``i`` (1-based)."""
    return f"02:00:5e:10:{i >> 8:02x}:{i & 0xFF:02x}"


def member_data(i: int, *, quarantine: bool = False, port: str | None = None,
                mac: str | None = None, ipv4: str | None = None) -> dict:
    """Config data for member ``i``: port ixp<i>, one MAC, one IPv4 and one IPv6 address."""
    return {
        "asn": 4_200_000_000 + i,
        "name": f"Member {i}",
        "ports": [port or f"ixp{i}"],
        "macs": [mac or member_mac(i)],
        "ipv4": [ipv4 or f"203.0.113.{10 + i}"],
        "ipv6": [f"2001:db8:eeee::{0x10 + i:x}"],
        "quarantine": quarantine,
    }


def config(members: list[dict], *, bridge: str = "br-ixp", mtu: int = 1500,
           ipv4_prefix: str = LAN4, rs4: str = RS4) -> IXPConfig:
    """A validated lab config with these members."""
    return config_from_data({
        "lab": True,
        "identity": {"name": "Test IX", "short_name": "TIX", "country": "FJ",
                     "contact_email": "noc@tix.example.net"},
        "peering_lan": {"bridge": bridge, "ipv4_prefix": ipv4_prefix, "ipv6_prefix": LAN6,
                        "mtu": mtu},
        "route_server": {"asn": 64511, "router_id": rs4, "ipv4": rs4, "ipv6": RS6},
        "members": members,
    })


# A member router's namespace on the LAN: ``eth0`` with the member's MAC and addresses, its
# peer the member's port (``ixp<i>``) in the appliance namespace.
MemberNS = Host


def add_member(lab: NetLab, app_ns: str, suffix: str, data: dict) -> MemberNS:
    """Member ``data``'s namespace: a veth from its port in ``app_ns`` (left down, for the
    bridge concern to reconcile) to its ``eth0``."""
    return lab.add_host(suffix, into=app_ns, port=data["ports"][0], mac=data["macs"][0],
                        addrs=[f"{data['ipv4'][0]}/24", f"{data['ipv6'][0]}/64"])


def build(lab: NetLab, members: list[dict]) -> tuple[str, list[MemberNS]]:
    """The appliance namespace and one namespace per member, joined by veth pairs."""
    app = lab.namespace("ixp", quiet=True)
    return app, [add_member(lab, app, f"m{k}", d) for k, d in enumerate(members, 1)]


def poll(predicate: Callable[[], bool], timeout: float = 5.0, interval: float = 0.02) -> bool:
    """Call ``predicate`` until it is true or ``timeout`` passes; its last value."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def snapshot(ns: str) -> dict[str, object]:
    """Bridge ports, FDB, neighbours, addresses and links of ``ns``, for before/after checks."""
    out: dict[str, object] = {}
    for key, argv in {
        "brlink": ["bridge", "-j", "-d", "link"],
        "fdb": ["bridge", "-j", "fdb"],
        "neigh": ["ip", "-j", "neigh"],
        "addr": ["ip", "-j", "addr"],
        "link": ["ip", "-j", "-d", "link"],
    }.items():
        out[key] = _stable(json.loads(sh(ns, *argv) or "[]"))
    return out


def _stable(data: object) -> object:
    """``data`` without the kernel's running timers (they change by themselves)."""
    if isinstance(data, dict):
        return {k: _stable(v) for k, v in data.items() if "timer" not in k}
    if isinstance(data, list):
        return [_stable(v) for v in data]
    return data


RTM_NEWLINK, RTM_DELLINK, RTM_NEWNEIGH, RTM_DELNEIGH = 16, 17, 28, 29
RTMGRP = {"link": 0x1, "neigh": 0x4, "ipv4_ifaddr": 0x10, "ipv4_route": 0x40,
          "ipv6_ifaddr": 0x100, "ipv6_route": 0x400}


class NetlinkMonitor:
    """Every link, neighbour (incl. FDB), address and route event in a namespace.

    Fenced by sentinel writes on an empty bridge of the test's own, so "no event between the
    fences" is proven without waiting on a timer.
    """

    def __init__(self, ns: str) -> None:
        self.ns = ns
        self.sock = ns_socket(ns, socket.AF_NETLINK, socket.SOCK_RAW, 0)  # NETLINK_ROUTE
        self.sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 8 << 20)
        self.sock.bind((0, sum(RTMGRP.values())))
        self.sock.settimeout(5.0)
        self._sentinel = f"fence{os.getpid() % 1000}"
        self._indexes: set[int | None] = set()

    def _read_until_sentinel(self, msg_type: int) -> list[tuple[int, str | None]]:
        """(type, link name) of every message before the sentinel's ``msg_type`` event,
        leaving out the sentinel's own link and FDB messages."""
        events: list[tuple[int, str | None]] = []
        while True:
            data = self.sock.recv(1 << 20)
            off = 0
            while off + 16 <= len(data):
                length, mtype = struct.unpack_from("=IH", data, off)
                msg = data[off:off + length]
                off += (length + 3) & ~3
                name, index = None, None
                if mtype in (RTM_NEWLINK, RTM_DELLINK):
                    name, index = _ifname_attr(msg), struct.unpack_from("=i", msg, 20)[0]
                elif mtype in (RTM_NEWNEIGH, RTM_DELNEIGH):
                    index = struct.unpack_from("=i", msg, 20)[0]
                if name == self._sentinel:
                    self._indexes.add(index)
                    if mtype == msg_type:
                        return events
                    continue
                if index in self._indexes:
                    continue
                events.append((mtype, name))

    def fence(self) -> list[tuple[int, str | None]]:
        """Events since the last fence (the first call returns what preceded the monitor)."""
        if not hasattr(self, "_up"):
            sh(self.ns, "ip", "link", "add", self._sentinel, "type", "bridge")
            self._up = True
            return self._read_until_sentinel(RTM_NEWLINK)
        sh(self.ns, "ip", "link", "del", self._sentinel)
        events = self._read_until_sentinel(RTM_DELLINK)
        sh(self.ns, "ip", "link", "add", self._sentinel, "type", "bridge")
        self._read_until_sentinel(RTM_NEWLINK)
        return events

    def close(self) -> None:
        """Stop listening (the sentinel link goes with the namespace)."""
        self.sock.close()


def _ifname_attr(msg: bytes) -> str | None:
    off = 16 + 16  # nlmsghdr + ifinfomsg
    while off + 4 <= len(msg):
        alen, atype = struct.unpack_from("=HH", msg, off)
        if alen < 4:
            return None
        if atype == 3:  # IFLA_IFNAME
            return msg[off + 4:off + alen].rstrip(b"\0").decode()
        off += (alen + 3) & ~3
    return None



@contextmanager
def applied_lan(state_dir: Path, count: int = 3) -> Iterator[tuple[str, list[MemberNS]]]:
    """A peering LAN with ``count`` members, applied through the pipeline (bridge concern only).

    The lab's namespaces get a unique prefix and are removed when the block ends, even on
    failure.
    """
    from appliance.bridge.concern import BridgeConcern  # here: bridgelab is imported early
    from appliance.pipeline.run import Pipeline

    with netlab.session(state_dir / "netlab", "ixt") as lab:
        members = [member_data(i) for i in range(1, count + 1)]
        app, ms = build(lab, members)
        out = Pipeline(Target(state_dir, app), concerns=[BridgeConcern()]).run(
            config(members), author="test")
        assert out.ok, out.error
        yield app, ms
