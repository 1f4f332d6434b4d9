"""Interface facts from the kernel: netlink link dumps with 64-bit stats, and ethtool speed.

All reads happen on the collector thread, which ``enter_netns`` may have moved into the
appliance's network namespace (the lab's, on a dev machine), so the agent never reads the
host's interfaces there.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import fcntl
import os
import socket
import struct
from dataclasses import dataclass, field
from typing import Any

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

IFF_UP = 0x1
IFF_RUNNING = 0x40
CLONE_NEWNET = 0x40000000
SIOCETHTOOL = 0x8946
ETHTOOL_GSET = 0x1
NETNS_DIR = "/var/run/netns"


@dataclass
class Link:
    """One device as the kernel reports it now."""

    name: str
    kernel_index: int
    kind: str | None
    mtu: int
    mac: bytes
    admin_up: bool
    oper: str  # IFLA_OPERSTATE: UP, DOWN, LOWERLAYERDOWN, UNKNOWN, ...
    running: bool
    stats: dict[str, int] = field(default_factory=dict)
    speed_mbps: int | None = None


def enter_netns(name: str | None) -> None:
    """Move the calling thread into namespace ``name`` (network namespaces are per thread)."""
    if name is None:
        return
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    fd = os.open(os.path.join(NETNS_DIR, name), os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"cannot enter network namespace {name}: {os.strerror(err)}")
    finally:
        os.close(fd)


def _mac(text: str | None) -> bytes:
    if not text:
        return b""
    raw = bytes(int(x, 16) for x in text.split(":"))
    return b"" if not any(raw) else raw


def ethtool_speed(sock: socket.socket, name: str) -> int | None:
    """Link speed in Mb/s from ETHTOOL_GSET, or None when the driver does not know."""
    buf = ctypes.create_string_buffer(struct.pack("I", ETHTOOL_GSET) + b"\0" * 40)
    ifreq = struct.pack("16sP", name.encode()[:15], ctypes.addressof(buf))
    try:
        fcntl.ioctl(sock.fileno(), SIOCETHTOOL, ifreq)
    except OSError:
        return None  # bridges and some virtual devices have no ethtool link settings
    speed_lo, = struct.unpack_from("H", buf.raw, 12)
    speed_hi, = struct.unpack_from("H", buf.raw, 28)
    speed = speed_lo | (speed_hi << 16)
    if speed in (0, 0xFFFF, 0xFFFFFFFF):
        return None
    return speed


def _link(msg: Any, sock: socket.socket) -> Link:
    name = msg.get_attr("IFLA_IFNAME")
    info = msg.get_attr("IFLA_LINKINFO")
    stats = msg.get_attr("IFLA_STATS64")
    flags = msg["flags"]
    return Link(
        name=name,
        kernel_index=msg["index"],
        kind=info.get_attr("IFLA_INFO_KIND") if info is not None else None,
        mtu=msg.get_attr("IFLA_MTU") or 0,
        mac=_mac(msg.get_attr("IFLA_ADDRESS")),
        admin_up=bool(flags & IFF_UP),
        oper=msg.get_attr("IFLA_OPERSTATE") or "UNKNOWN",
        running=bool(flags & IFF_RUNNING),
        stats=dict(stats) if stats is not None else {},
        speed_mbps=ethtool_speed(sock, name),
    )


def read_links(names: set[str] | None = None) -> dict[str, Link]:
    """Every device in the calling thread's namespace (or only ``names``), by name."""
    links: dict[str, Link] = {}
    with IPRoute() as ipr, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        if names is None:
            for msg in ipr.get_links():
                links[msg.get_attr("IFLA_IFNAME")] = _link(msg, sock)
            return links
        # One device at a time: a dump of 1000 ports is some 30 MB of parsed messages at
        # once, which the agent's process then keeps (issue 14); this is no slower.
        for name in sorted(names):
            try:
                msgs = ipr.link("get", ifname=name)
            except NetlinkError as exc:
                if exc.code in (errno.ENODEV, errno.EINVAL):
                    continue  # configured but not (yet) there, as a dump would have it
                raise
            for msg in msgs:
                links[msg.get_attr("IFLA_IFNAME")] = _link(msg, sock)
    return links
