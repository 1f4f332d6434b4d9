"""A small rtnetlink client: one link by name (flags, MTU, MAC, kind, 64-bit stats), set up/down,
and the two neighbour tables (the bridge's forwarding database, the IP neighbours).

The resident services (collector, SNMP agent, anycast helper) need only these few requests;
pyroute2 costs each of them some 22 MiB of imported modules (issue 14: the 1 GB box). The
web UI and the pipeline keep pyroute2 for everything else.

Network namespaces are per thread: a socket opened in one stays in it, so ``open_rtnl``
opens the socket in a short-lived thread that entered the namespace, and the caller's thread
never moves.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

NETNS_DIR = "/var/run/netns"
CLONE_NEWNET = 0x40000000
IFF_UP = 0x1
IFF_RUNNING = 0x40

RTM_NEWLINK, RTM_GETLINK = 16, 18
RTM_NEWNEIGH, RTM_GETNEIGH = 28, 30
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_ACK = 0x1, 0x4
NLM_F_DUMP = 0x300
NDA_DST, NDA_LLADDR, NDA_MASTER = 1, 2, 9
NTF_MASTER = 0x04
# NUD_* states of a neighbour entry (include/uapi/linux/neighbour.h)
NUD_STATES = {0x01: "INCOMPLETE", 0x02: "REACHABLE", 0x04: "STALE", 0x08: "DELAY",
              0x10: "PROBE", 0x20: "FAILED", 0x40: "NOARP", 0x80: "PERMANENT"}
IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_OPERSTATE = 1, 3, 4, 16
IFLA_LINKINFO, IFLA_STATS64 = 18, 23
IFLA_MASTER, IFLA_CARRIER = 10, 33
IFLA_INFO_KIND = 1

_NLMSG = struct.Struct("=LHHLL")
_IFINFO = struct.Struct("=BxHiII")
_RTA = struct.Struct("=HH")
_NDMSG = struct.Struct("=BxxiHBB")
# struct rtnl_link_stats64, in the kernel's order (newer kernels append fields: ignored)
STATS64 = ("rx_packets", "tx_packets", "rx_bytes", "tx_bytes", "rx_errors", "tx_errors",
           "rx_dropped", "tx_dropped", "multicast", "collisions", "rx_length_errors",
           "rx_over_errors", "rx_crc_errors", "rx_frame_errors", "rx_fifo_errors",
           "rx_missed_errors", "tx_aborted_errors", "tx_carrier_errors", "tx_fifo_errors",
           "tx_heartbeat_errors", "tx_window_errors", "rx_compressed", "tx_compressed",
           "rx_nohandler")
OPERSTATES = ("UNKNOWN", "NOTPRESENT", "DOWN", "LOWERLAYERDOWN", "TESTING", "DORMANT", "UP")


@dataclass
class LinkInfo:
    """One device as the kernel reports it."""

    name: str
    index: int
    flags: int
    mtu: int = 0
    mac: bytes = b""
    oper: str = "UNKNOWN"  # IFLA_OPERSTATE: UP, DOWN, LOWERLAYERDOWN, UNKNOWN, ...
    kind: str | None = None  # IFLA_INFO_KIND: bridge, vlan, veth...; None for a NIC
    stats: dict[str, int] = field(default_factory=dict)
    master: int = 0  # IFLA_MASTER: the bridge (or bond) it is a port of; 0 for none
    carrier: bool = False  # IFLA_CARRIER: the link is physically up

    @property
    def mac_text(self) -> str:
        """The MAC as ``02:00:5e:10:00:01``; empty for a device without one."""
        return _mac_text(self.mac)


@dataclass(frozen=True)
class Neighbour:
    """One entry of a neighbour table: a bridge FDB entry (``address`` empty) or an IP
    neighbour (ARP for IPv4, ND for IPv6)."""

    ifindex: int
    mac: str  # "02:00:5e:10:00:01"; empty while unresolved
    state: str  # REACHABLE, STALE, FAILED, PERMANENT, ... (several joined by "|")
    address: str = ""
    master: bool = False  # an FDB entry the bridge learnt or holds (not the port's own list)


def _mac_text(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw) if len(raw) == 6 else ""


def _state_text(state: int) -> str:
    return "|".join(name for bit, name in NUD_STATES.items() if state & bit) or "NONE"


def parse_neighbour(body: bytes) -> Neighbour:
    """A RTM_NEWNEIGH message's body (ndmsg and attributes) as a ``Neighbour``."""
    family, ifindex, state, flags, _type = _NDMSG.unpack_from(body, 0)
    attrs = _attrs(body, _NDMSG.size)
    dst = attrs.get(NDA_DST, b"")
    address = ""
    if family in (socket.AF_INET, socket.AF_INET6) and len(dst) in (4, 16):
        address = socket.inet_ntop(socket.AF_INET if len(dst) == 4 else socket.AF_INET6, dst)
    return Neighbour(ifindex, _mac_text(attrs.get(NDA_LLADDR, b"")), _state_text(state),
                     address, bool(flags & NTF_MASTER or NDA_MASTER in attrs))


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


def _socket() -> socket.socket:
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC,
                         socket.NETLINK_ROUTE)
    sock.bind((0, 0))
    return sock


def socket_in(netns: str | None, make: Callable[[], socket.socket]) -> socket.socket:
    """``make()``'s socket, opened inside namespace ``netns`` (None: here).

    A socket keeps the namespace it was created in, so a short-lived thread enters the
    namespace, opens it and ends; the caller's thread never changes namespace.
    """
    if netns is None:
        return make()
    made: list[socket.socket | BaseException] = []

    def opener() -> None:
        try:
            enter_netns(netns)
            made.append(make())
        except BaseException as exc:  # handed to the caller's thread
            made.append(exc)
    thread = threading.Thread(target=opener, name=f"netns-{netns}")
    thread.start()
    thread.join()
    if isinstance(made[0], BaseException):
        raise made[0]
    return made[0]


def open_rtnl(netns: str | None = None) -> Rtnl:
    """A client in ``netns`` (None: the calling thread's namespace)."""
    return Rtnl(socket_in(netns, _socket))


def _attrs(data: bytes, offset: int) -> dict[int, bytes]:
    out: dict[int, bytes] = {}
    while offset + _RTA.size <= len(data):
        length, kind = _RTA.unpack_from(data, offset)
        if length < _RTA.size:
            break
        out[kind & 0x3FFF] = data[offset + _RTA.size:offset + length]  # without NLA_F_ flags
        offset += (length + 3) & ~3
    return out


def _attr(kind: int, value: bytes) -> bytes:
    raw = _RTA.pack(_RTA.size + len(value), kind) + value
    return raw + b"\0" * (-len(raw) % 4)


def parse_link(body: bytes) -> LinkInfo:
    """A RTM_NEWLINK message's body (ifinfomsg and attributes) as a ``LinkInfo``."""
    _family, _type, index, flags, _change = _IFINFO.unpack_from(body, 0)
    attrs = _attrs(body, _IFINFO.size)
    info = LinkInfo(attrs.get(IFLA_IFNAME, b"").rstrip(b"\0").decode(errors="replace"),
                    index, flags)
    if IFLA_MTU in attrs:
        info.mtu = struct.unpack("=I", attrs[IFLA_MTU][:4])[0]
    mac = attrs.get(IFLA_ADDRESS, b"")
    info.mac = mac if any(mac) else b""
    if IFLA_OPERSTATE in attrs:
        state = attrs[IFLA_OPERSTATE][0]
        info.oper = OPERSTATES[state] if state < len(OPERSTATES) else "UNKNOWN"
    if IFLA_LINKINFO in attrs:
        kind = _attrs(attrs[IFLA_LINKINFO], 0).get(IFLA_INFO_KIND)
        info.kind = kind.rstrip(b"\0").decode() if kind else None
    if IFLA_MASTER in attrs:
        info.master = struct.unpack("=I", attrs[IFLA_MASTER][:4])[0]
    info.carrier = bool(attrs.get(IFLA_CARRIER, b"\0")[0])
    raw = attrs.get(IFLA_STATS64, b"")
    count = min(len(raw) // 8, len(STATS64))
    info.stats = dict(zip(STATS64, struct.unpack_from(f"={count}Q", raw), strict=True))
    return info


class Rtnl:
    """One rtnetlink socket; requests are answered in order. Use as a context manager."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._seq = 0

    def __enter__(self) -> Rtnl:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the socket."""
        self.sock.close()

    def _request(self, kind: int, flags: int, body: bytes) -> list[tuple[int, bytes]]:
        self._seq += 1
        seq = self._seq
        self.sock.send(_NLMSG.pack(_NLMSG.size + len(body), kind, NLM_F_REQUEST | flags,
                                   seq, 0) + body)
        replies: list[tuple[int, bytes]] = []
        while True:
            data = self.sock.recv(65536)
            offset = 0
            while offset + _NLMSG.size <= len(data):
                length, mtype, _flags, mseq, _pid = _NLMSG.unpack_from(data, offset)
                payload = data[offset + _NLMSG.size:offset + length]
                offset += (length + 3) & ~3
                if mseq != seq:
                    continue  # an answer to an earlier request that was given up on
                if mtype == NLMSG_ERROR:
                    code = -struct.unpack_from("=i", payload, 0)[0]
                    if code:
                        raise OSError(code, os.strerror(code))
                    return replies  # the ACK
                if mtype == NLMSG_DONE:
                    return replies
                replies.append((mtype, payload))
                if not flags & (NLM_F_ACK | NLM_F_DUMP):
                    return replies  # a single answer (not a dump)

    def link(self, name: str) -> LinkInfo | None:
        """The device ``name``; None when there is none of that name."""
        body = (_IFINFO.pack(socket.AF_UNSPEC, 0, 0, 0, 0)
                + _attr(IFLA_IFNAME, name.encode() + b"\0"))
        try:
            replies = self._request(RTM_GETLINK, 0, body)
        except OSError as exc:
            if exc.errno in (errno.ENODEV, errno.EINVAL, errno.ERANGE):
                return None  # no such device (EINVAL/ERANGE: not a valid device name)
            raise
        return next((parse_link(p) for t, p in replies if t == RTM_NEWLINK), None)

    def links(self) -> list[LinkInfo]:
        """Every device of the namespace (one dump)."""
        body = _IFINFO.pack(socket.AF_UNSPEC, 0, 0, 0, 0)
        return [parse_link(p) for t, p in self._request(RTM_GETLINK, NLM_F_DUMP, body)
                if t == RTM_NEWLINK]

    def set_up(self, name: str, up: bool) -> None:
        """Set ``name`` administratively up or down; ``FileNotFoundError`` if it is missing."""
        link = self.link(name)
        if link is None:
            raise FileNotFoundError(errno.ENODEV, f"no interface {name}")
        body = _IFINFO.pack(socket.AF_UNSPEC, 0, link.index, IFF_UP if up else 0, IFF_UP)
        self._request(RTM_NEWLINK, NLM_F_ACK, body)

    def neighbours(self, family: int) -> list[Neighbour]:
        """Every entry of one neighbour table: ``socket.AF_BRIDGE`` (7) the bridges' FDB,
        ``AF_INET`` the ARP table, ``AF_INET6`` the ND table."""
        body = _NDMSG.pack(family, 0, 0, 0, 0)
        return [parse_neighbour(p) for t, p in self._request(RTM_GETNEIGH, NLM_F_DUMP, body)
                if t == RTM_NEWNEIGH]
