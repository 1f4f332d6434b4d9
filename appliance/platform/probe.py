"""Ask who answers for an address on the peering LAN: one ARP request (IPv4) or neighbour
solicitation (IPv6) per address, sent from the bridge, and every answer collected.

The box holds permanent neighbour entries for its members (bridge/desired.py), so its own
neighbour table never shows whether a member answers; the onboarding checklist asks on the
wire instead. A packet socket on the bridge device, opened in the target's namespace (a
namespace is per thread: the socket is made in a short-lived thread, as in ``rtnl``).
"""

from __future__ import annotations

import ipaddress
import select
import socket
import struct
import time
from collections.abc import Callable, Iterable

from appliance.platform.rtnl import socket_in

ETH_P_ARP, ETH_P_IPV6, ETH_P_ALL = 0x0806, 0x86DD, 0x0003
ND_NS, ND_NA = 135, 136


def _mac(text: str) -> bytes:
    return bytes(int(x, 16) for x in text.split(":"))


def _mac_text(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


def _packet_socket(netns: str | None, ifname: str) -> socket.socket:
    def make() -> socket.socket:
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        sock.bind((ifname, ETH_P_ALL))
        return sock
    return socket_in(netns, make)


def arp_request(src_mac: str, src_ip: str, target: str) -> bytes:
    """A broadcast ARP request for ``target`` from ``src_ip``/``src_mac``."""
    arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, _mac(src_mac),
                      ipaddress.IPv4Address(src_ip).packed, b"\0" * 6,
                      ipaddress.IPv4Address(target).packed)
    return b"\xff" * 6 + _mac(src_mac) + struct.pack("!H", ETH_P_ARP) + arp


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def neighbour_solicitation(src_mac: str, src_ip: str, target: str) -> bytes:
    """An ND neighbour solicitation for ``target`` to its solicited-node group (RFC 4861)."""
    tgt = ipaddress.IPv6Address(target).packed
    group = ipaddress.IPv6Address(b"\xff\x02" + b"\0" * 9 + b"\x01\xff" + tgt[13:])
    src = ipaddress.IPv6Address(src_ip).packed
    body = struct.pack("!BBHI16s", ND_NS, 0, 0, 0, tgt) + bytes([1, 1]) + _mac(src_mac)
    pseudo = src + group.packed + struct.pack("!I3xB", len(body), 58)
    body = body[:2] + struct.pack("!H", _checksum(pseudo + body)) + body[4:]
    ip6 = struct.pack("!IHBB16s16s", 6 << 28, len(body), 58, 255, src, group.packed)
    dst_mac = b"\x33\x33" + group.packed[12:]
    return dst_mac + _mac(src_mac) + struct.pack("!H", ETH_P_IPV6) + ip6 + body


def answer_of(frame: bytes) -> tuple[str, str] | None:
    """(address, MAC that answers for it) of an ARP reply or neighbour advertisement."""
    if len(frame) < 14:
        return None
    (ethertype,) = struct.unpack_from("!H", frame, 12)
    if ethertype == ETH_P_ARP and len(frame) >= 42:
        op, sha, spa = struct.unpack_from("!H6s4s", frame, 20)
        if op == 2:
            return str(ipaddress.IPv4Address(spa)), _mac_text(sha)
    if ethertype == ETH_P_IPV6 and len(frame) >= 14 + 40 + 24 and frame[14 + 6] == 58 \
            and frame[54] == ND_NA:
        target = str(ipaddress.IPv6Address(frame[54 + 8:54 + 24]))
        mac = _mac_text(frame[6:12])
        opts = frame[54 + 24:]
        while len(opts) >= 8 and opts[1]:  # the target link-layer address, when given
            if opts[0] == 2:
                mac = _mac_text(opts[2:8])
                break
            opts = opts[opts[1] * 8:]
        return target, mac
    return None


# Who asks: here (a packet socket needs CAP_NET_RAW), or the apply helper for a web UI that
# runs without capabilities (set once by the web's create_app, as nft.use_reader).
Asker = Callable[..., dict[str, set[str]]]
_asker: Asker | None = None


def use_asker(asker: Asker | None) -> None:
    """Ask through ``asker`` (same arguments as ``who_answers``); None: here."""
    global _asker
    _asker = asker


def ask(netns: str | None, bridge: str, src_mac: str, sources: dict[int, str],
        targets: Iterable[str], timeout: float = 1.0) -> dict[str, set[str]]:
    """``who_answers``, here or through the asker set by ``use_asker``; ``OSError`` when
    the question cannot be sent."""
    how = _asker if _asker is not None else who_answers
    return how(netns, bridge, src_mac, sources, targets, timeout=timeout)


def who_answers(netns: str | None, bridge: str, src_mac: str, sources: dict[int, str],
                targets: Iterable[str], timeout: float = 1.0) -> dict[str, set[str]]:
    """{address: MACs that answered} for each of ``targets`` (an empty set: nobody did).

    ``sources`` are the box's own addresses on the LAN, by IP version: an ARP request or a
    solicitation needs a sender the member's router answers to. A target of a version the box
    has no address for gets no question (and an empty set).
    """
    wanted = {str(ipaddress.ip_address(t)): set() for t in targets}  # type: dict[str, set[str]]
    sock = _packet_socket(netns, bridge)
    try:
        for target in wanted:
            version = ipaddress.ip_address(target).version
            src = sources.get(version)
            if src is None:
                continue
            make = arp_request if version == 4 else neighbour_solicitation
            sock.send(make(src_mac, src, target))
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0 and not all(wanted.values()):
            ready, _w, _x = select.select([sock], [], [], left)
            if not ready:
                break
            found = answer_of(sock.recv(2048))
            if found and found[0] in wanted:
                wanted[found[0]].add(found[1])
    finally:
        sock.close()
    return wanted
