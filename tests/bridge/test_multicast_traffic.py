"""Issue 16 item 11: IPv4 and IPv6 multicast is not flooded to the members.

IXP rules (AMS-IX, LINX, France-IX; MANRS action 3) allow only ARP broadcast and IPv6
neighbour discovery as non-unicast traffic. Real frames (scapy) from member A through the real
bridge and ruleset: IGP hellos, IGMP, PIM, VRRP, mDNS and MLD are dropped, each counted once
under ``ipv4_multicast`` or ``ipv6_multicast``, and reach neither B nor C; ARP, ND and unicast
still do. As in test_hygiene_traffic, a bad frame counts as "not delivered" once its counter
has moved (a dropped frame cannot arrive later), so no timer decides the outcome.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import bridgelab as bl
import pytest
from scapy.contrib.ospf import OSPF_Hdr, OSPF_Hello
from scapy.contrib.pim import PIMv2Hdr, PIMv2Hello
from scapy.layers.dns import DNS, DNSQR
from scapy.layers.igmp import IGMP, IGMPv3_MR, IGMPv3_MR_Group
from scapy.layers.inet import ICMP, IP, UDP, IPOption_Router_Alert
from scapy.layers.inet6 import (
    ICMPv6EchoRequest,
    ICMPv6MLDMultAddrRec,
    ICMPv6MLReport,
    ICMPv6MLReport2,
    ICMPv6ND_NA,
    ICMPv6ND_NS,
    ICMPv6NDOptDstLLAddr,
    ICMPv6NDOptSrcLLAddr,
    IPv6,
    IPv6ExtHdrHopByHop,
    RouterAlert,
)
from scapy.layers.l2 import ARP, Ether
from scapy.layers.vrrp import VRRP
from scapy.packet import Raw

from appliance.bridge.status import drops_by_port
from appliance.platform.target import Target
from labkit.frames import Sender, Sniffer, ns_socket

# These calls only read or change the namespace: no state directory is involved.
NO_STATE = Path("/nonexistent")

pytestmark = pytest.mark.netns

BCAST = "ff:ff:ff:ff:ff:ff"


@pytest.fixture(scope="module")
def lan(tmp_path_factory) -> Iterator[tuple[str, list[bl.MemberNS]]]:
    """An applied peering LAN with three members, shared by this module's tests."""
    if os.geteuid() != 0:
        pytest.fail("this test creates network namespaces and must run as root")
    with bl.applied_lan(tmp_path_factory.mktemp("state")) as lan:
        yield lan


def _mac4(group: str) -> str:
    """The Ethernet group address of IPv4 multicast group ``group`` (RFC 1112)."""
    low23 = int.from_bytes(socket.inet_aton(group), "big") & 0x7FFFFF
    return "01:00:5e:" + ":".join(f"{b:02x}" for b in low23.to_bytes(3, "big"))


def _mac6(group: str) -> str:
    """The Ethernet group address of IPv6 multicast group ``group`` (RFC 2464)."""
    tail = socket.inet_pton(socket.AF_INET6, group)[-4:]
    return "33:33:" + ":".join(f"{b:02x}" for b in tail)


def _lla(mac: str) -> str:
    b = bytes.fromhex(mac.replace(":", ""))
    eui = bytes([b[0] ^ 2, *b[1:3], 0xFF, 0xFE, *b[3:]])
    return "fe80::" + ":".join(eui[i:i + 2].hex() for i in range(0, 8, 2))


def _multicast(a: bl.MemberNS) -> list[tuple[str, str, bytes]]:
    """(reason, what, frame): multicast a member's router may send but the LAN must not carry.

    Every frame carries a unique marker, so it is recognised whatever arrives at B or C.
    """
    lla = _lla(a.mac)

    def v4(group: str, what: str, body, **ip) -> tuple[str, str, bytes]:
        pkt = Ether(src=a.mac, dst=_mac4(group)) / IP(src=a.ipv4, dst=group, ttl=1, **ip) \
            / body / Raw(f"marker {what}".encode())
        return "ipv4_multicast", what, bytes(pkt)

    def v6(group: str, what: str, body, hbh: bool = False, **ip6) -> tuple[str, str, bytes]:
        pkt = Ether(src=a.mac, dst=_mac6(group)) / IPv6(src=lla, dst=group, hlim=1, **ip6)
        if hbh:  # MLD carries a router alert in a hop-by-hop header (RFC 2711)
            pkt = pkt / IPv6ExtHdrHopByHop(options=[RouterAlert()])
        return "ipv6_multicast", what, bytes(pkt / body / Raw(f"marker {what}".encode()))

    def b4(dst: str, what: str, body) -> tuple[str, str, bytes]:
        pkt = Ether(src=a.mac, dst=BCAST) / IP(src=a.ipv4, dst=dst) / body \
            / Raw(f"marker {what}".encode())
        return "ipv4_broadcast", what, bytes(pkt)

    return [
        b4("255.255.255.255", "netbios name query", UDP(sport=137, dport=137)),
        b4("203.0.113.255", "ping to the subnet broadcast", ICMP()),
        b4("255.255.255.255", "udp discovery", UDP(sport=40001, dport=1900)),
        v4("224.0.0.5", "ospf hello", OSPF_Hdr(src=a.ipv4) / OSPF_Hello()),
        v4("224.0.0.251", "igmpv2 report", IGMP(type=0x16, gaddr="224.0.0.251"),
           options=[IPOption_Router_Alert()]),
        v4("224.0.0.22", "igmpv3 report",  # scapy adds the router alert itself here
           IGMPv3_MR(records=[IGMPv3_MR_Group(rtype=4, maddr="239.1.2.3")])),
        v4("224.0.0.13", "pim hello", PIMv2Hdr() / PIMv2Hello()),
        v4("224.0.0.18", "vrrp", VRRP(vrid=1, addrlist=["203.0.113.250"])),
        v4("224.0.0.251", "mdns", UDP(sport=5353, dport=5353)
           / DNS(qd=DNSQR(qname="printer.local"))),
        v4("239.1.2.3", "udp to a group", UDP(sport=40000, dport=9)),
        v4("224.0.0.1", "ping to all hosts", ICMP()),
        v6("ff02::16", "mldv2 report", ICMPv6MLReport2(
            records=[ICMPv6MLDMultAddrRec(rtype=4, dst="ff02::fb")]), hbh=True),
        v6("ff02::fb", "mldv1 report", ICMPv6MLReport(mladdr="ff02::fb"), hbh=True),
        v6("ff02::16", "mldv1 report to all mld routers", ICMPv6MLReport(mladdr="ff02::fb")),
        v6("ff02::5", "ospfv3 hello", Raw(bytes.fromhex("03010024") + b"\0" * 32), nh=89),
        v6("ff02::fb", "mdns6", UDP(sport=5353, dport=5353)
           / DNS(qd=DNSQR(qname="printer.local"))),
        v6("ff02::1", "ping6 to all nodes", ICMPv6EchoRequest()),
    ]


def _allowed(a: bl.MemberNS, b: bl.MemberNS) -> list[tuple[str, bytes, bool]]:
    """(what, frame, also expected at C): what the LAN must still carry."""
    sn_group = "ff02::1:ff00:99"
    to_b = Ether(src=a.mac, dst=b.mac)
    frames = [
        ("arp broadcast", Ether(src=a.mac, dst=BCAST)
         / ARP(op=1, hwsrc=a.mac, psrc=a.ipv4, pdst="203.0.113.99"), True),
        ("nd solicitation to solicited-node", Ether(src=a.mac, dst=_mac6(sn_group))
         / IPv6(src=a.ipv6, dst=sn_group, hlim=255)
         / ICMPv6ND_NS(tgt="2001:db8:eeee::99") / ICMPv6NDOptSrcLLAddr(lladdr=a.mac), True),
        ("dad solicitation", Ether(src=a.mac, dst=_mac6("ff02::1:ff00:98"))
         / IPv6(src="::", dst="ff02::1:ff00:98", hlim=255)
         / ICMPv6ND_NS(tgt="2001:db8:eeee::98"), True),
        ("unsolicited nd advertisement to all nodes", Ether(src=a.mac, dst=_mac6("ff02::1"))
         / IPv6(src=a.ipv6, dst="ff02::1", hlim=255)
         / ICMPv6ND_NA(tgt=a.ipv6, R=1, S=0, O=1) / ICMPv6NDOptDstLLAddr(lladdr=a.mac), True),
        ("nd advertisement unicast", to_b / IPv6(src=a.ipv6, dst=b.ipv6, hlim=255)
         / ICMPv6ND_NA(tgt=a.ipv6, S=1, O=1) / ICMPv6NDOptDstLLAddr(lladdr=a.mac), False),
        ("ipv4 unicast", to_b / IP(src=a.ipv4, dst=b.ipv4) / ICMP() / Raw(b"good v4"), False),
        ("ipv6 unicast", to_b / IPv6(src=a.ipv6, dst=b.ipv6) / UDP(sport=40000, dport=9)
         / Raw(b"good v6"), False),
    ]
    return [(what, bytes(f), at_c) for what, f, at_c in frames]


def _port_drops(app: str, port: str) -> dict[str, int]:
    return drops_by_port(Target(NO_STATE, app)).get(port, {})


def test_multicast_is_dropped_and_counted_arp_nd_and_unicast_pass(lan):
    app, (a, b, c) = lan
    sniff_b, sniff_c = Sniffer.open(b.ns), Sniffer.open(c.ns)
    sender = Sender(a.ns)
    bad, good = _multicast(a), _allowed(a, b)
    before = _port_drops(app, a.port)
    try:
        for _, _, frame in bad:
            sender.send(frame)
        for _, frame, _ in good:
            sender.send(frame)
        expected = {reason: sum(r == reason for r, _, _ in bad)
                    for reason in ("ipv4_broadcast", "ipv4_multicast", "ipv6_multicast")}

        def grown() -> dict[str, int]:
            now = _port_drops(app, a.port)
            return {r: now.get(r, 0) - before.get(r, 0) for r in now}

        # >=: A's own kernel may send an MLD report of its own meanwhile; == is checked below
        assert bl.poll(lambda: all(grown().get(r, 0) >= n for r, n in expected.items())), \
            f"multicast was not counted as dropped: {grown()}"
        assert bl.poll(lambda: all(sniff_b.seen(f) and (not at_c or sniff_c.seen(f))
                                   for _, f, at_c in good)), \
            "ARP, ND or unicast no longer delivered: " + ", ".join(
                w for w, f, at_c in good if not sniff_b.seen(f) or (at_c and not sniff_c.seen(f)))

        # Counted under its own reason and nothing else: no other counter of A moved.
        assert {r: n for r, n in grown().items() if n and r not in expected} == {}
        assert grown()["ipv4_multicast"] == expected["ipv4_multicast"]
        assert grown()["ipv4_broadcast"] == expected["ipv4_broadcast"]
        arrived = sniff_b.drain() + sniff_c.drain()
        for reason, what, _frame in bad:
            marker = f"marker {what}".encode()
            assert not any(marker in f for f in arrived), f"{what} ({reason}) was flooded"
    finally:
        sniff_b.close()
        sniff_c.close()
        sender.close()


def test_each_multicast_kind_is_counted_under_its_reason(lan):
    app, (a, _b, _c) = lan
    sender = Sender(a.ns)
    try:
        for reason, what, frame in _multicast(a):
            before = _port_drops(app, a.port).get(reason, 0)
            sender.send(frame)
            assert bl.poll(lambda r=reason, n=before: _port_drops(app, a.port).get(r, 0) > n), \
                f"{what} was not counted as {reason}"
    finally:
        sender.close()


def _tcp6_connects(client_ns: str, server_ns: str, server_ip: str, port: int) -> str:
    """Connect over TCP/IPv6 from ``client_ns`` to ``server_ip``; the peer address seen."""
    server = ns_socket(server_ns, socket.AF_INET6, socket.SOCK_STREAM)
    client = ns_socket(client_ns, socket.AF_INET6, socket.SOCK_STREAM)
    try:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((server_ip, port))
        server.listen(1)
        server.settimeout(10)
        client.settimeout(10)
        client.connect((server_ip, port))
        conn, peer = server.accept()
        conn.close()
        return peer[0]
    finally:
        client.close()
        server.close()


def test_bgp_over_ipv6_still_connects_after_nd(lan, tool):
    """ND really works end to end: with every neighbour cache flushed, TCP over IPv6 (as BGP
    runs) connects member to member and member to the route server's port 179."""
    tool("ip", "iproute2")
    app, (a, b, _c) = lan
    for ns, dev in ((a.ns, "eth0"), (b.ns, "eth0")):
        bl.sh(ns, "ip", "-6", "neigh", "flush", "dev", dev)
    # Needs A's solicitation to reach B (solicited-node multicast) and B's advertisement back.
    assert _tcp6_connects(a.ns, b.ns, b.ipv6, 1179) == a.ipv6
    assert _tcp6_connects(b.ns, app, bl.RS6, 179) == b.ipv6
