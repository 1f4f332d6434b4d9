"""Issue 16 items 10 and 12: 802.1Q/802.1ad-tagged frames from an untagged member port are
dropped before any accept, counted as ``ethertype``, with the bytes that arrived.

The kernel moves a frame's outer VLAN tag into packet metadata before the bridge hook sees it
(in its core receive path, so this needs no 802.1Q module): the inner packet then looks like
plain TCP/UDP to ``meta l4proto``, which is how the unicast fast path once let tagged TCP and
UDP through to other members. Real frames (scapy) from member A; what arrives at B and C is
recognised by a marker in each frame, since a tagged frame would arrive with its tag in the
receiver's metadata too. (VLAN member ports, ``eth1.101``, need 802.1Q: see the report in
docs/peering-lan.md, "Limits and notes".)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import bridgelab as bl
import pytest
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.l2 import ARP, Dot1AD, Dot1Q, Ether
from scapy.packet import Raw

from appliance.bridge.status import drops_by_port, read_drops
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
    with bl.applied_lan(tmp_path_factory.mktemp("state")) as built:
        yield built


def _tagged(a: bl.MemberNS, b: bl.MemberNS) -> list[tuple[str, bytes]]:
    """(what, frame): tagged frames a member's trunk port might send, each with a marker."""
    to_b = Ether(src=a.mac, dst=b.mac)
    v4 = IP(src=a.ipv4, dst=b.ipv4)
    frames = [
        ("802.1Q UDP unicast", to_b / Dot1Q(vlan=100) / v4 / UDP(sport=40000, dport=9)),
        ("802.1Q TCP SYN unicast", to_b / Dot1Q(vlan=100) / v4 / TCP(sport=40000, dport=179)),
        ("priority-tagged UDP (VID 0)", to_b / Dot1Q(vlan=0, prio=5) / v4
         / UDP(sport=40000, dport=9)),
        ("802.1Q ICMP", to_b / Dot1Q(vlan=100) / v4 / ICMP()),
        ("802.1Q ARP broadcast", Ether(src=a.mac, dst=BCAST) / Dot1Q(vlan=100)
         / ARP(op=1, hwsrc=a.mac, psrc=a.ipv4, pdst=b.ipv4)),
        ("802.1ad QinQ UDP", to_b / Dot1AD(vlan=10) / Dot1Q(vlan=100) / v4
         / UDP(sport=40000, dport=9)),
        ("802.1Q UDP from a foreign MAC", Ether(src=SPOOF, dst=b.mac) / Dot1Q(vlan=100) / v4
         / UDP(sport=40000, dport=9)),
    ]
    return [(what, bytes(f / Raw(f"marker {what}".encode()))) for what, f in frames]


def _ethertype(app: str, port: str) -> tuple[int, int]:
    d = next((d for d in read_drops(Target(NO_STATE, app))
              if (d.port, d.reason) == (port, "ethertype")), None)
    return (d.packets, d.bytes) if d else (-1, -1)


def test_tagged_frames_are_dropped_counted_with_their_tag_and_reach_no_one(lan):
    app, (a, b, c) = lan
    sniff_b, sniff_c = Sniffer.open(b.ns), Sniffer.open(c.ns)
    sender = Sender(a.ns)
    frames = _tagged(a, b)
    untagged = bytes(Ether(src=a.mac, dst=b.mac) / IP(src=a.ipv4, dst=b.ipv4)
                     / UDP(sport=40000, dport=9) / Raw(b"untagged still passes"))
    before_all = drops_by_port(Target(NO_STATE, app))[a.port]
    packets0, bytes0 = _ethertype(app, a.port)
    try:
        for _, frame in frames:
            sender.send(frame)
        sender.send(untagged)
        want = (packets0 + len(frames), bytes0 + sum(len(f) - 14 for _, f in frames))
        # Counted once each, under ethertype; bytes from after the 14-byte MAC header, the
        # 4 bytes of the tag the kernel took into metadata included (what arrived).
        assert bl.poll(lambda: _ethertype(app, a.port)[0] >= want[0]), _ethertype(app, a.port)
        assert _ethertype(app, a.port) == want
        after = drops_by_port(Target(NO_STATE, app))[a.port]
        moved = {r: after[r] - before_all.get(r, 0) for r in after
                 if after[r] != before_all.get(r, 0)}
        assert set(moved) <= {"ethertype", "ipv6_multicast"}, moved  # A's own MLD aside
        # The untagged frame after them arrived, so had any tagged one passed, it would have
        # arrived before it (same path, same order).
        assert bl.poll(lambda: sniff_b.seen(untagged)), "untagged unicast no longer passes"
        arrived = sniff_b.drain() + sniff_c.drain()
        for what, _ in frames:
            assert not any(f"marker {what}".encode() in f for f in arrived), \
                f"{what} reached another member"
    finally:
        sniff_b.close()
        sniff_c.close()
        sender.close()
