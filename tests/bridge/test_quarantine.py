"""Quarantine: a new port may only do ARP/ND and BGP with the route server until released."""

from __future__ import annotations

import errno
import socket

import bridgelab as bl
import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import ARP, Ether
from scapy.packet import Raw

from appliance.bridge.concern import BridgeConcern
from appliance.bridge.status import drops_by_port
from appliance.pipeline.run import Pipeline
from appliance.platform.target import Target
from labkit.frames import Sender, Sniffer, ns_socket

pytestmark = pytest.mark.netns


def _udp(src: bl.MemberNS, dst: bl.MemberNS, text: bytes) -> bytes:
    return bytes(Ether(src=src.mac, dst=dst.mac) / IP(src=src.ipv4, dst=dst.ipv4)
                 / UDP(sport=40000, dport=9) / Raw(text))


def _listener(ns: str, port: int) -> socket.socket:
    sock = ns_socket(ns, socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((bl.RS4, port))
    sock.listen(4)
    sock.setblocking(False)
    return sock


def _connect(ns: str, port: int) -> socket.socket:
    """Start a TCP connection from ``ns`` to the route server (non-blocking)."""
    sock = ns_socket(ns, socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    assert sock.connect_ex((bl.RS4, port)) in (0, errno.EINPROGRESS)
    return sock


def _accepted(listener: socket.socket) -> bool:
    try:
        conn, _ = listener.accept()
    except BlockingIOError:
        return False
    conn.close()
    return True


def test_quarantined_port_reaches_only_the_route_server_until_released(netlab, tmp_path):
    members = [bl.member_data(1), bl.member_data(2), bl.member_data(3, quarantine=True)]
    app, (_a, b, c) = bl.build(netlab, members)
    pipe = Pipeline(Target(tmp_path / "state", app), concerns=[BridgeConcern()])
    out = pipe.run(bl.config(members), author="test")
    assert out.ok, out.error

    def drops(reason: str) -> int:
        return drops_by_port(Target(tmp_path, app)).get(c.port, {}).get(reason, 0)

    sniff_b, sniff_c = Sniffer.open(b.ns), Sniffer.open(c.ns)
    send_b, send_c = Sender(b.ns), Sender(c.ns)
    bgp, other = _listener(app, 179), _listener(app, 8080)
    clients: list[socket.socket] = []
    try:
        # Member traffic both ways is cut and counted on the quarantined port.
        from_c, to_c = _udp(c, b, b"from quarantine"), _udp(b, c, b"to quarantine")
        send_c.send(from_c)
        send_b.send(to_c)
        assert bl.poll(lambda: drops("quarantine") >= 1 and drops("quarantine_to") >= 1)
        assert not sniff_b.seen(from_c) and not sniff_c.seen(to_c)

        # ARP still works (the operator can see the router), and so does BGP to the RS.
        arp = bytes(Ether(src=c.mac, dst="ff:ff:ff:ff:ff:ff")
                    / ARP(op=1, hwsrc=c.mac, psrc=c.ipv4, pdst="203.0.113.99"))
        send_c.send(arp)
        assert bl.poll(lambda: sniff_b.seen(arp)), "ARP from the quarantined port was cut"
        clients.append(_connect(c.ns, 179))
        assert bl.poll(lambda: _accepted(bgp)), "BGP to the route server did not connect"

        # Anything else to the route server is dropped (counted, never accepted).
        before = drops("quarantine")
        clients.append(_connect(c.ns, 8080))
        assert bl.poll(lambda: drops("quarantine") > before)
        assert not _accepted(other)

        # The operator releases the port: member traffic flows, quarantine rules are gone.
        released = [*members[:2], bl.member_data(3)]
        assert pipe.run(bl.config(released), author="test").ok
        again = _udp(c, b, b"released")
        send_c.send(again)
        assert bl.poll(lambda: sniff_b.seen(again)), "traffic still cut after release"
        assert "quarantine" not in drops_by_port(Target(tmp_path, app)).get(c.port, {})
    finally:
        for s in (bgp, other, *clients):
            s.close()
        for x in (sniff_b, sniff_c, send_b, send_c):
            x.close()
