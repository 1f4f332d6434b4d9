"""Real frames through the real bridge and ruleset: bad ones dropped and counted, good ones
delivered, ARP/ND answered by the bridge itself.

Three member namespaces (A, B, C) hang off one appliance namespace. A sends hand-made frames
(scapy) out of its eth0; raw-socket sniffers on B's and C's eth0 record what arrives. A bad
frame counts as "not delivered" once its drop counter has moved: a dropped frame is gone, so it
can never arrive later, and no timer decides the outcome.
"""

from __future__ import annotations

import ipaddress
import os
import time
from collections.abc import Iterator
from pathlib import Path

import bridgelab as bl
import pytest
from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.dhcp6 import DHCP6_Solicit
from scapy.layers.inet import ICMP, IP, UDP
from scapy.layers.inet6 import (
    ICMPv6ND_NA,
    ICMPv6ND_NS,
    ICMPv6ND_RA,
    ICMPv6ND_Redirect,
    ICMPv6ND_RS,
    ICMPv6NDOptDstLLAddr,
    ICMPv6NDOptSrcLLAddr,
    IPv6,
)
from scapy.layers.l2 import ARP, LLC, SNAP, STP, Dot3, Ether
from scapy.packet import Raw

from appliance.bridge.status import drops_by_port
from appliance.platform import netns as labns
from appliance.platform.target import Target
from labkit.frames import Sender, Sniffer

# These calls only read or change the namespace: no state directory is involved.
NO_STATE = Path("/nonexistent")

pytestmark = pytest.mark.netns

BCAST = "ff:ff:ff:ff:ff:ff"
SPOOF = "02:66:66:66:66:66"


@pytest.fixture(scope="module")
def lan(tmp_path_factory) -> Iterator[tuple[str, list[bl.MemberNS]]]:
    """An applied peering LAN with three members, shared by this module's tests."""
    if os.geteuid() != 0:
        pytest.fail("this test creates network namespaces and must run as root")
    with bl.applied_lan(tmp_path_factory.mktemp("state")) as lan:
        yield lan


def _ll(mac: str) -> str:
    """The EUI-64 link-local address of ``mac`` (what a member's kernel would use)."""
    b = bytes.fromhex(mac.replace(":", ""))
    eui = bytes([b[0] ^ 2, *b[1:3], 0xFF, 0xFE, *b[3:]])
    groups = [eui[i:i + 2].hex() for i in range(0, 8, 2)]
    return "fe80::" + ":".join(g.lstrip("0") or "0" for g in groups)


def _solicited_node(addr: str) -> tuple[str, str]:
    """The solicited-node multicast address of ``addr`` and its Ethernet group MAC."""
    low24 = int(ipaddress.IPv6Address(addr)) & 0xFFFFFF
    group = ipaddress.IPv6Address(int(ipaddress.IPv6Address("ff02::1:ff00:0")) | low24)
    tail = group.packed[-4:]
    return str(group), "33:33:" + ":".join(f"{x:02x}" for x in tail)


def _bad_frames(a: bl.MemberNS, b: bl.MemberNS) -> list[tuple[str, bytes]]:
    """(reason the ruleset must count, frame) for every kind of frame an IXP must not pass."""
    lla, llb = _ll(a.mac), _ll(b.mac)
    frames = [
        ("src_mac", Ether(src=SPOOF, dst=BCAST) / IP(src=a.ipv4, dst="255.255.255.255")
         / UDP(sport=9, dport=9) / Raw(b"spoofed source MAC")),
        ("ethertype", Dot3(src=a.mac, dst=BCAST) / LLC(dsap=0xAA, ssap=0xAA, ctrl=3)
         / SNAP(OUI=0, code=0x0800) / Raw(b"LLC/SNAP frame")),
        ("bpdu", Dot3(src=a.mac, dst="01:80:c2:00:00:00") / LLC(dsap=0x42, ssap=0x42, ctrl=3)
         / STP()),
        ("link_local", Ether(src=a.mac, dst="01:80:c2:00:00:0e", type=0x88CC)
         / Raw(bytes.fromhex("0207046672656e0403056574683006020078") + b"\0\0")),
        ("ra", Ether(src=a.mac, dst="33:33:00:00:00:01") / IPv6(src=lla, dst="ff02::1", hlim=255)
         / ICMPv6ND_RA() / ICMPv6NDOptSrcLLAddr(lladdr=a.mac)),
        ("rs", Ether(src=a.mac, dst="33:33:00:00:00:02") / IPv6(src=lla, dst="ff02::2", hlim=255)
         / ICMPv6ND_RS()),
        ("redirect6", Ether(src=a.mac, dst=b.mac) / IPv6(src=lla, dst=llb, hlim=255)
         / ICMPv6ND_Redirect(tgt=lla, dst="2001:db8:ffff::1")),
        ("dhcp", Ether(src=a.mac, dst=BCAST) / IP(src="0.0.0.0", dst="255.255.255.255")
         / UDP(sport=68, dport=67)
         / BOOTP(chaddr=bytes.fromhex(a.mac.replace(":", "")), xid=0x1234)
         / DHCP(options=[("message-type", "discover"), "end"])),
        ("dhcpv6", Ether(src=a.mac, dst="33:33:00:01:00:02") / IPv6(src=lla, dst="ff02::1:2")
         / UDP(sport=546, dport=547) / DHCP6_Solicit()),
        ("icmp_redirect", Ether(src=a.mac, dst=b.mac) / IP(src=a.ipv4, dst=b.ipv4)
         / ICMP(type=5, code=1, gw="203.0.113.99") / IP(src=b.ipv4, dst="198.51.100.1")
         / UDP(sport=1, dport=2)),
    ]
    # A claims B's addresses: ARP and ND spoofing.
    frames.append(("arp_spoof", Ether(src=a.mac, dst=BCAST)
                   / ARP(op=2, hwsrc=a.mac, psrc=b.ipv4, hwdst=BCAST, pdst=b.ipv4)))
    frames.append(("nd_spoof", Ether(src=a.mac, dst="33:33:00:00:00:01")
                   / IPv6(src=a.ipv6, dst="ff02::1", hlim=255)
                   / ICMPv6ND_NA(tgt=b.ipv6, S=0, O=1) / ICMPv6NDOptDstLLAddr(lladdr=a.mac)))
    # CDP: an LLC/SNAP frame to Cisco's multicast address, dropped for its ethertype.
    frames.append(("ethertype", Dot3(src=a.mac, dst="01:00:0c:cc:cc:cc")
                   / LLC(dsap=0xAA, ssap=0xAA, ctrl=3) / SNAP(OUI=0x0C, code=0x2000)
                   / Raw(b"\x02\xb4\x00\x00")))
    return [(reason, bytes(f)) for reason, f in frames]


def _good_frames(a: bl.MemberNS, b: bl.MemberNS) -> list[tuple[str, bytes, bool]]:
    """(what, frame, also expected at C) for traffic an IXP must pass."""
    to_b = Ether(src=a.mac, dst=b.mac)
    frames = [
        ("ipv4 unicast", to_b / IP(src=a.ipv4, dst=b.ipv4) / UDP(sport=40000, dport=9)
         / Raw(b"good ipv4"), False),
        ("ipv6 unicast", to_b / IPv6(src=a.ipv6, dst=b.ipv6) / UDP(sport=40000, dport=9)
         / Raw(b"good ipv6"), False),
        ("arp request", Ether(src=a.mac, dst=BCAST)
         / ARP(op=1, hwsrc=a.mac, psrc=a.ipv4, pdst="203.0.113.99"), True),
        ("arp reply", to_b / ARP(op=2, hwsrc=a.mac, psrc=a.ipv4, hwdst=b.mac, pdst=b.ipv4),
         False),
        ("nd solicitation", Ether(src=a.mac, dst="33:33:ff:00:00:99")
         / IPv6(src=a.ipv6, dst="ff02::1:ff00:99", hlim=255)
         / ICMPv6ND_NS(tgt="2001:db8:eeee::99") / ICMPv6NDOptSrcLLAddr(lladdr=a.mac), True),
        ("nd advertisement", to_b / IPv6(src=a.ipv6, dst=b.ipv6, hlim=255)
         / ICMPv6ND_NA(tgt=a.ipv6, S=1, O=1) / ICMPv6NDOptDstLLAddr(lladdr=a.mac), False),
    ]
    return [(what, bytes(f), at_c) for what, f, at_c in frames]


def _port_drops(app: str, port: str) -> dict[str, int]:
    return drops_by_port(Target(NO_STATE, app)).get(port, {})


def _settled_drops(app: str, port: str, quiet: float = 3.0) -> dict[str, int]:
    """The port's drop counters once they stopped moving: the member's own kernel sends MLD
    reports (IPv6 multicast, dropped and counted) for a few seconds after its addresses came
    up, and those must not be taken for the test's frames."""
    last, since = _port_drops(app, port), time.monotonic()
    deadline = since + 30
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = _port_drops(app, port)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
    return last


def test_bad_frames_are_dropped_and_counted_good_frames_delivered(lan):
    app, (a, b, c) = lan
    sniff_b, sniff_c = Sniffer.open(b.ns), Sniffer.open(c.ns)
    sender = Sender(a.ns)
    before = _settled_drops(app, a.port)
    bad, good = _bad_frames(a, b), _good_frames(a, b)
    try:
        for _, frame in bad:
            sender.send(frame)
        for _, frame, _ in good:
            sender.send(frame)

        expected: dict[str, int] = {}
        for reason, _ in bad:
            expected[reason] = expected.get(reason, 0) + 1

        def counted() -> bool:
            now = _port_drops(app, a.port)
            return all(now.get(r, 0) - before.get(r, 0) >= n for r, n in expected.items())

        def delivered() -> bool:
            return all(sniff_b.seen(f) and (not at_c or sniff_c.seen(f)) for _, f, at_c in good)

        assert bl.poll(counted), f"drop counters did not move: {_port_drops(app, a.port)}"
        assert bl.poll(delivered), "a legitimate frame was not delivered: " + ", ".join(
            w for w, f, at_c in good if not sniff_b.seen(f) or (at_c and not sniff_c.seen(f)))

        after = _port_drops(app, a.port)
        delta = {r: after.get(r, 0) - before.get(r, 0) for r in after}
        # Each bad frame counted exactly once, under its own reason; good frames never.
        assert {r: n for r, n in delta.items() if n} == expected
        for reason, frame in bad:
            assert not sniff_b.seen(frame), f"{reason} frame reached member B"
            assert not sniff_c.seen(frame), f"{reason} frame reached member C"
        for what, frame, at_c in good:
            if not at_c:
                assert not sniff_c.seen(frame), f"unicast {what} for B was flooded to C"
    finally:
        sniff_b.close()
        sniff_c.close()
        sender.close()


def test_bridge_answers_arp_for_member_addresses_itself(lan):
    _app, (a, b, c) = lan
    sniff_a, sniff_b, sniff_c = (Sniffer.open(m.ns) for m in (a, b, c))
    sender = Sender(a.ns)
    who_has = bytes(Ether(src=a.mac, dst=BCAST)
                    / ARP(op=1, hwsrc=a.mac, psrc=a.ipv4, pdst=b.ipv4))

    def arp_reply() -> bool:
        return any(ARP in (p := Ether(f)) and p[ARP].op == 2 and p[ARP].psrc == b.ipv4
                   and p[ARP].hwsrc == b.mac and p[ARP].pdst == a.ipv4
                   for f in sniff_a.drain())

    try:
        sender.send(who_has)
        assert bl.poll(arp_reply), "no ARP reply for member B's address"
        # The bridge answered: the request never reached B (nor C), so B could not have.
        assert not sniff_b.seen(who_has) and not sniff_c.seen(who_has)
    finally:
        for s in (sniff_a, sniff_b, sniff_c):
            s.close()
        sender.close()


def test_nd_for_a_member_address_reaches_only_the_lan_and_is_answered(lan):
    _app, (a, b, _c) = lan
    sniff_a, sniff_b = Sniffer.open(a.ns), Sniffer.open(b.ns)
    sender = Sender(a.ns)
    group, group_mac = _solicited_node(b.ipv6)
    solicit = bytes(Ether(src=a.mac, dst=group_mac) / IPv6(src=a.ipv6, dst=group, hlim=255)
                    / ICMPv6ND_NS(tgt=b.ipv6) / ICMPv6NDOptSrcLLAddr(lladdr=a.mac))

    def nd_advert() -> bool:
        for f in sniff_a.drain():
            p = Ether(f)
            if ICMPv6ND_NA in p and p[ICMPv6ND_NA].tgt == b.ipv6:
                return ICMPv6NDOptDstLLAddr in p and p[ICMPv6NDOptDstLLAddr].lladdr == b.mac
        return False

    try:
        sender.send(solicit)
        # The kernel has no ND proxy for symmetric ports (see docs/peering-lan.md): the
        # solicitation is flooded within storm limits and B answers for itself.
        assert bl.poll(lambda: sniff_b.seen(solicit)), "B did not receive the solicitation"
        assert bl.poll(nd_advert), "no neighbour advertisement for member B's address"
    finally:
        sniff_a.close()
        sniff_b.close()
        sender.close()


def test_members_ping_each_other_and_the_route_server(lan, tool):
    tool("ping", "iputils-ping")
    _app, (a, b, _c) = lan
    for target in (b.ipv4, b.ipv6, bl.RS4, bl.RS6):
        out = labns.run(a.ns, ["ping", "-c", "1", "-W", "3", target], check=False)
        assert out.returncode == 0, f"ping {target} from A failed: {out.stdout}{out.stderr}"
    out = labns.run(b.ns, ["ping", "-c", "1", "-W", "3", a.ipv6], check=False)
    assert out.returncode == 0, out.stdout


def _storm_frame(c: bl.MemberNS, reason: str, i: int) -> bytes:
    """Frame ``i`` of a storm: ARP requests (the only broadcast the LAN carries), or (the
    only multicast it carries) ND solicitations, each for another address so that every frame
    differs."""
    if reason == "storm_bcast":
        return bytes(Ether(src=c.mac, dst=BCAST)
                     / ARP(op=1, hwsrc=c.mac, psrc=c.ipv4, pdst=f"198.18.{i // 256}.{i % 256}"))
    target = f"2001:db8:eeee::1:{i:x}"
    group, group_mac = _solicited_node(target)
    return bytes(Ether(src=c.mac, dst=group_mac) / IPv6(src=c.ipv6, dst=group, hlim=255)
                 / ICMPv6ND_NS(tgt=target) / ICMPv6NDOptSrcLLAddr(lladdr=c.mac))


def _storm(app: str, sender: Sender, sniffer: Sniffer, c: bl.MemberNS, reason: str,
           total: int) -> tuple[int, int]:
    """Send ``total`` frames at once; (delivered to the sniffer, counted as dropped)."""
    before = _port_drops(app, c.port).get(reason, 0)
    frames = {_storm_frame(c, reason, i) for i in range(total)}
    for f in frames:
        sender.send(f)

    def counts() -> tuple[int, int]:
        got = len(frames & set(sniffer.drain()))
        return got, _port_drops(app, c.port).get(reason, 0) - before

    assert bl.poll(lambda: sum(counts()) >= total), f"{reason}: frames neither delivered " \
        f"nor counted: {counts()} of {total}"
    return counts()


def test_broadcast_and_multicast_storms_are_cut(lan):
    app, (_a, b, c) = lan  # C floods; A's bucket stays untouched for the other tests
    sniff_b = Sniffer.open(b.ns)
    sender = Sender(c.ns)
    total = 400
    try:
        for reason in ("storm_bcast", "storm_mcast"):
            got, dropped = _storm(app, sender, sniff_b, c, reason, total)
            # Every frame is either delivered or counted, never both, never neither.
            assert got + dropped == total
            assert dropped > 0, f"{reason}: nothing was cut from {total} frames sent at once"
            assert got > 0, f"{reason}: the burst allowance let nothing through"
    finally:
        sniff_b.close()
        sender.close()
