"""The hygiene ruleset's named sets across an in-place update (issue 13 with named sets).

The port chains look a member's MACs, ARP senders and ND targets up in table-wide named sets.
An in-place update keeps the drop counters, but it must not keep a set's old elements: a MAC
taken off a member must be dropped from the moment the update is loaded. Real nft in
namespaces of our own, real frames (scapy).
"""

from __future__ import annotations

import json
from pathlib import Path

import bridgelab as bl
import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import ARP, Ether
from scapy.packet import Raw

from appliance.bridge import nft
from appliance.bridge.concern import BridgeConcern
from appliance.bridge.status import drops_by_port
from appliance.pipeline.run import Pipeline
from appliance.platform.target import Target
from labkit.frames import Sender, Sniffer

# These calls only read or change the namespace: no state directory is involved.
NO_STATE = Path("/nonexistent")
EXTRA_MAC = "02:00:5e:10:01:01"  # member 1's second MAC, until the change takes it away
EXTRA_IPV4 = "203.0.113.111"  # member 1's second address, likewise
UNKNOWN = "203.0.113.99"  # no member's address

pytestmark = pytest.mark.netns


def _drops(app: str, port: str, reason: str) -> int:
    return drops_by_port(Target(NO_STATE, app)).get(port, {}).get(reason, -1)


def _set(app: str, name: str) -> set[tuple[str, str]]:
    listing = json.loads(bl.sh(app, nft.nft_binary(), "-j", "list", "set", "bridge",
                               "ixp_hygiene", name))["nftables"]
    [body] = [x["set"] for x in listing if "set" in x]
    return {tuple(e["concat"]) for e in body.get("elem", [])}


def test_a_mac_taken_off_a_member_is_dropped_after_an_in_place_update(netlab, tmp_path):
    one = bl.member_data(1)
    one["macs"].append(EXTRA_MAC)
    one["ipv4"].append(EXTRA_IPV4)
    members = [one, bl.member_data(2)]
    app, (a, b) = bl.build(netlab, members)
    concern = BridgeConcern()
    pipe = Pipeline(Target(tmp_path / "state", app), concerns=[concern])
    assert pipe.run(bl.config(members), author="test").ok
    assert _set(app, "port_macs") == {("ixp1", bl.member_mac(1)), ("ixp1", EXTRA_MAC),
                                      ("ixp2", bl.member_mac(2))}

    # UDP from the second MAC to member 2 (not DHCP: the fast path), and an ARP request from
    # the second MAC and address (for an address no member has: the bridge floods it, it
    # answers only for members'); a frame from an unregistered MAC counts one src_mac drop.
    udp = bytes(Ether(src=EXTRA_MAC, dst=b.mac) / IP(src=a.ipv4, dst=b.ipv4)
                / UDP(sport=4000, dport=4000) / Raw(b"from the second MAC"))
    arp = bytes(Ether(src=EXTRA_MAC, dst="ff:ff:ff:ff:ff:ff")
                / ARP(op=1, hwsrc=EXTRA_MAC, psrc=EXTRA_IPV4, pdst=UNKNOWN))
    spoofed = bytes(Ether(src="02:66:66:66:66:66", dst=b.mac) / IP(src=a.ipv4, dst=b.ipv4)
                    / UDP(sport=4000, dport=4000) / Raw(b"spoofed"))
    sniff_b, sender = Sniffer.open(b.ns), Sender(a.ns)
    try:
        sender.send(spoofed)
        assert bl.poll(lambda: _drops(app, "ixp1", "src_mac") == 1)
        sender.send(udp)
        sender.send(arp)
        assert bl.poll(lambda: sniff_b.seen(udp) and sniff_b.seen(arp)), "registered: passes"
        arp_spoof = _drops(app, "ixp1", "arp_spoof")

        # The change: member 1 keeps its first MAC and address only.
        assert pipe.run(bl.config([bl.member_data(1), members[1]]), author="test").ok
        assert concern.last_ruleset_loaded
        assert _set(app, "port_macs") == {("ixp1", bl.member_mac(1)),
                                          ("ixp2", bl.member_mac(2))}
        assert ("ixp1", EXTRA_IPV4) not in _set(app, "arp_senders")
        assert ("ixp1", "0.0.0.0") in _set(app, "arp_senders")
        # In place: the counter from before the update is still there (a replace zeroes it).
        assert _drops(app, "ixp1", "src_mac") == 1

        sniff_b.drain()
        sniff_b.frames.clear()
        sender.send(udp)
        assert bl.poll(lambda: _drops(app, "ixp1", "src_mac") == 2), "the removed MAC passed"
        # An ARP request from the first MAC for the removed address: that address's check
        sender.send(bytes(Ether(src=a.mac, dst="ff:ff:ff:ff:ff:ff")
                          / ARP(op=1, hwsrc=a.mac, psrc=EXTRA_IPV4, pdst=UNKNOWN)))
        assert bl.poll(lambda: _drops(app, "ixp1", "arp_spoof") == arp_spoof + 1)
        assert not sniff_b.seen(udp)
        # The first MAC still passes.
        good = bytes(Ether(src=a.mac, dst=b.mac) / IP(src=a.ipv4, dst=b.ipv4)
                     / UDP(sport=4000, dport=4000) / Raw(b"from the first MAC"))
        sender.send(good)
        assert bl.poll(lambda: sniff_b.seen(good))
    finally:
        sniff_b.close()
        sender.close()

    # Every set of the table is the new ruleset's: none left over, none twice.
    listing = json.loads(bl.sh(app, nft.nft_binary(), "-j", "list", "table", "bridge",
                               "ixp_hygiene"))["nftables"]
    names = [x["set"]["name"] for x in listing if "set" in x]
    assert sorted(names) == sorted({"tagged_types", "allowed_types", "bulk_protos",
                                    "dhcp_ports", "bpdu_macs", "nd_types", "port_macs",
                                    "arp_senders", "nd_targets", "pairs4", "pairs6"})
