"""A minimal BGP speaker for announcements BIRD cannot originate (an AS_SET in the path).

BIRD's filters can only prepend plain ASNs, so a member router that sends an aggregate with an
AS_SET is this script instead: it opens one IPv4 unicast session with 4-byte ASNs, sends its
UPDATEs exactly as given, then keeps the session up with KEEPALIVEs and ignores what it
receives. Run it inside the member's namespace:

    python -m tests.bird.raw_bgp '{"local": ..., "peer": ..., "asn": ..., "routes": [...]}'

Each route is ``{"prefix": "31.7.1.0/24", "segments": [["seq", [10007]], ["set", [1, 2]]]}``.
"""

from __future__ import annotations

import ipaddress
import json
import select
import signal
import socket
import struct
import sys
import time
from typing import Any

AS_TRANS = 23456
KEEPALIVE_EVERY = 3.0
HOLD_TIME = 30
SEGMENT = {"set": 1, "seq": 2}


def message(kind: int, body: bytes) -> bytes:
    """One BGP message: marker, length, type, body."""
    return b"\xff" * 16 + struct.pack("!HB", 19 + len(body), kind) + body


def open_message(asn: int, router_id: str) -> bytes:
    """OPEN with the multiprotocol (IPv4 unicast) and 4-byte ASN capabilities."""
    caps = bytes([1, 4]) + struct.pack("!HBB", 1, 0, 1)
    caps += bytes([65, 4]) + struct.pack("!I", asn)
    params = bytes([2, len(caps)]) + caps
    body = struct.pack("!BHH", 4, asn if asn <= 65535 else AS_TRANS, HOLD_TIME)
    body += ipaddress.IPv4Address(router_id).packed + bytes([len(params)]) + params
    return message(1, body)


def attribute(flags: int, code: int, value: bytes) -> bytes:
    """A path attribute (extended length when it needs it)."""
    if len(value) > 255:
        return struct.pack("!BBH", flags | 0x10, code, len(value)) + value
    return struct.pack("!BBB", flags, code, len(value)) + value


def update_message(prefix: str, segments: list[tuple[str, list[int]]], next_hop: str,
                   otc: int | None = None) -> bytes:
    """UPDATE announcing ``prefix`` with the AS path made of ``segments`` (4-byte ASNs) and,
    when given, an RFC 9234 Only-to-Customer attribute (optional transitive, type 35)."""
    path = b"".join(struct.pack("!BB", SEGMENT[kind], len(asns))
                    + b"".join(struct.pack("!I", a) for a in asns) for kind, asns in segments)
    attrs = (attribute(0x40, 1, b"\x00")  # ORIGIN IGP
             + attribute(0x40, 2, path)
             + attribute(0x40, 3, ipaddress.IPv4Address(next_hop).packed))
    if otc is not None:
        attrs += attribute(0xC0, 35, struct.pack("!I", otc))
    net = ipaddress.IPv4Network(prefix)
    nlri = bytes([net.prefixlen]) + net.network_address.packed[:(net.prefixlen + 7) // 8]
    return message(2, struct.pack("!H", 0) + struct.pack("!H", len(attrs)) + attrs + nlri)


def _read_message(sock: socket.socket) -> tuple[int, bytes]:
    head = _read_exactly(sock, 19)
    length, kind = struct.unpack("!HB", head[16:19])
    return kind, _read_exactly(sock, length - 19)


def _read_exactly(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("the route server closed the session")
        data += chunk
    return data


def run(spec: dict[str, Any]) -> None:
    """Connect, open the session, announce, then keep it alive until terminated."""
    local, peer, asn = spec["local"], spec["peer"], int(spec["asn"])
    deadline = time.monotonic() + 60
    while True:  # the route server's BIRD may not be listening yet
        try:
            sock = socket.create_connection((peer, 179), timeout=5, source_address=(local, 0))
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
    sock.sendall(open_message(asn, local))
    kind, body = _read_message(sock)
    if kind != 1:
        raise ConnectionError(f"expected OPEN, got message type {kind}: {body.hex()}")
    sock.sendall(message(4, b""))
    for route in spec["routes"]:
        segments = [(k, [int(a) for a in asns]) for k, asns in route["segments"]]
        sock.sendall(update_message(route["prefix"], segments, route.get("next_hop", local),
                                    route.get("otc")))
    sock.settimeout(None)
    last = 0.0
    while True:
        now = time.monotonic()
        if now - last >= KEEPALIVE_EVERY:
            sock.sendall(message(4, b""))
            last = now
        ready, _, _ = select.select([sock], [], [], KEEPALIVE_EVERY)
        if ready:
            kind, body = _read_message(sock)
            if kind == 3:  # NOTIFICATION: say why, so the test log shows it
                raise ConnectionError(f"NOTIFICATION from the route server: {body.hex()}")


def main() -> None:
    """Entry point: the JSON spec is the only argument."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    run(json.loads(sys.argv[1]))


if __name__ == "__main__":
    main()
