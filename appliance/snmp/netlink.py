"""Interface facts from the kernel: netlink link reads with 64-bit stats, and ethtool speed.

All reads happen on the collector thread, which ``enter_netns`` may have moved into the
appliance's network namespace (the lab's, on a dev machine), so the agent never reads the
host's interfaces there.
"""

from __future__ import annotations

import ctypes
import fcntl
import socket
import struct
from dataclasses import dataclass, field

# The small rtnetlink client, not pyroute2: its modules alone were 22 MiB of the agent's
# memory (issue 14). enter_netns is re-exported: the agent's collector thread calls it.
from appliance.platform.rtnl import IFF_RUNNING, IFF_UP, LinkInfo, open_rtnl
from appliance.platform.rtnl import enter_netns as enter_netns

SIOCETHTOOL = 0x8946
ETHTOOL_GSET = 0x1


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


def _link(info: LinkInfo, sock: socket.socket) -> Link:
    return Link(
        name=info.name,
        kernel_index=info.index,
        kind=info.kind,
        mtu=info.mtu,
        mac=info.mac,
        admin_up=bool(info.flags & IFF_UP),
        oper=info.oper,
        running=bool(info.flags & IFF_RUNNING),
        stats=info.stats,
        speed_mbps=ethtool_speed(sock, info.name),
    )


def read_links(names: set[str]) -> dict[str, Link]:
    """The devices ``names`` in the calling thread's namespace, by name (missing ones left out).

    One device at a time: a dump of 1000 ports is some 30 MB of parsed messages at once,
    which the agent's process then keeps (issue 14); this is no slower.
    """
    links: dict[str, Link] = {}
    with open_rtnl() as rtnl, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for name in sorted(names):
            info = rtnl.link(name)
            if info is not None:  # configured but not (yet) there, as a dump would have it
                links[info.name] = _link(info, sock)
    return links
