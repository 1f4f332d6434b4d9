"""Issue 16 (hardening), the pure part: rule order and the multicast rules in the rendered
hygiene ruleset, and the docs' table of reasons (no root, no I/O)."""

from __future__ import annotations

import re
from pathlib import Path

import bridgelab as bl

from appliance.bridge import status as drops
from appliance.bridge.nft import check_file
from appliance.bridge.render import REASONS, render_hygiene
from appliance.platform.nft import parse_counters
from appliance.platform.target import Target

DOCS = Path(__file__).resolve().parents[2] / "docs" / "peering-lan.md"


def _chain(text: str, name: str) -> list[str]:
    """The rules of chain ``name`` (comments left out), in order."""
    body = text[text.index(f"chain {name} {{"):]
    body = body[:body.index("\n\t}")]
    return [x.strip() for x in body.splitlines()[1:] if x.strip() and not
            x.strip().startswith("#")]


def _cfg(*, quarantine: bool = False):
    return bl.config([bl.member_data(1), bl.member_data(2, quarantine=quarantine)])


def test_every_reason_is_in_the_docs_table():
    documented = set(re.findall(r"^\| `([a-z0-9_]+)` \|", DOCS.read_text(), re.M))
    assert set(REASONS) <= documented, set(REASONS) - documented


def test_multicast_other_than_nd_is_dropped_per_port_before_storm_control():
    text = render_hygiene(_cfg(quarantine=True))
    for port in ("ixp1", "ixp2"):
        rules = _chain(text, f"port_{port}")
        v4 = [i for i, r in enumerate(rules) if f'"{port}/ipv4_multicast"' in r]
        v6 = [i for i, r in enumerate(rules) if f'"{port}/ipv6_multicast"' in r]
        assert len(v4) == 1 and len(v6) == 2, rules
        # IPv4: a group MAC but not broadcast (ARP broadcast and IPv4 broadcast go on to
        # storm control); IPv6: every protocol but ICMPv6, and every ICMPv6 but NS/NA.
        assert "ether type ip " in rules[v4[0]] and "ether daddr != ff:ff:ff:ff:ff:ff" in \
            rules[v4[0]]
        assert "meta l4proto != ipv6-icmp" in rules[v6[0]]
        assert "icmpv6 type != @nd_types" in rules[v6[1]]
        assert all("01:00:00:00:00:00 == 01:00:00:00:00:00" in rules[i] for i in v4 + v6)
        # RA/RS/redirects keep their own reasons: they are checked before.
        for reason in ("ra", "rs", "redirect6", "dhcpv6", "nd_spoof"):
            assert max(i for i, r in enumerate(rules) if f'"{port}/{reason}"' in r) < v6[0]
        storm = min(i for i, r in enumerate(rules) if "/storm_" in r)
        assert max(v4 + v6) < storm  # storm control is left with ARP, ND and broadcast
    # Both counters declared per port, with the comment the UI reads back.
    for port in ("ixp1", "ixp2"):
        for reason in ("ipv4_multicast", "ipv6_multicast"):
            assert f'counter {port}/{reason} {{ comment "port={port} reason={reason}" }}' in text


def _vlan_cfg():
    """Member 1 untagged on ixp1, member 2 on VLAN 101 of trunk0, member 3 in quarantine."""
    vlan_member = bl.member_data(2)
    vlan_member["ports"] = [{"interface": "trunk0", "vlan": 101}]
    return bl.config([bl.member_data(1), vlan_member, bl.member_data(3, quarantine=True)])


def _port_chains(text: str) -> list[str]:
    return re.findall(r"^\tchain (port_\S+) \{", text, re.M)


def test_tagged_frames_are_dropped_first_on_every_port_before_any_accept():
    text = render_hygiene(_vlan_cfg())
    chains = _port_chains(text)
    assert chains == ["port_ixp1", "port_trunk0.101", "port_ixp3"]
    for chain in chains:
        token = chain.removeprefix("port_")
        rules = _chain(text, chain)
        # The very first rule: nothing (not the fast path, not quarantine's ARP/ND/BGP
        # accepts) can let a tagged frame by, and no other counter sees one.
        assert rules[0] == (f'ether type @tagged_types counter name "{token}/ethertype" '
                            f'counter name "{token}/tagged" drop'), (chain, rules[0])
        accepts = [i for i, r in enumerate(rules) if r.endswith("accept")]
        assert accepts and min(accepts) > 0
        assert f'counter {token}/tagged {{ comment "port={token} tagged=ethertype" }}' in text
    # The fast path is there on the untagged and the VLAN port, after the tag check.
    for chain in ("port_ixp1", "port_trunk0.101"):
        assert any("meta l4proto @bulk_protos" in r for r in _chain(text, chain)[1:3])


def test_vlan_port_accepts_only_its_own_vlan():
    text = render_hygiene(_vlan_cfg())
    # Member 2's frames are checked only as they come out of trunk0.101, the 802.1Q device
    # the kernel gives VLAN 101 of trunk0 (and only it), untagged. The trunk itself is no
    # port: untagged frames and other VLANs on it never reach the bridge or this chain.
    dispatch = re.search(r"prerouting \{.*?iifname vmap \{ (.*?) \}", text, re.S)
    assert dispatch is not None
    ports = re.findall(r'"([^"]+)" : jump ([\w.-]+)', dispatch.group(1))
    assert ports == [("ixp1", "port_ixp1"), ("trunk0.101", "port_trunk0.101"),
                     ("ixp3", "port_ixp3")]
    assert '"trunk0"' not in text
    rules = _chain(text, "port_trunk0.101")
    # A tag still on a frame here is a second one (QinQ inside VLAN 101): dropped first.
    assert rules[0].startswith("ether type @tagged_types ")
    assert not any("vlan id" in r and "accept" in r for r in rules)
    body = text[text.index("chain port_trunk0.101 {"):]
    assert "# VLAN 101 on trunk0:" in body[:body.index("\n\t}")]


def test_the_vlan_ruleset_passes_nft_check(tmp_path):
    path = tmp_path / "hygiene.nft"
    path.write_text(render_hygiene(_vlan_cfg()))
    check_file(path)  # raises NftError with nft's own message if refused


def test_dropped_tagged_frames_count_their_tag_bytes(monkeypatch):
    # As nft lists them: 3 LLC frames of 60 bytes and 2 tagged frames of 100 bytes after the
    # MAC header, of which nft counted 96 each (the kernel holds the tag in metadata).
    # nft's own listing (``nft list counters``), a named and a quoted name among them
    counters = parse_counters("""table bridge ixp {
\tcomment "the table's own comment"
\tcounter ixp1_ethertype {
\t\tcomment "port=ixp1 reason=ethertype"
\t\tpackets 5 bytes 372
\t}
\tcounter ixp1_tagged {
\t\tcomment "port=ixp1 tagged=ethertype"
\t\tpackets 2 bytes 192
\t}
\tcounter "ixp1/src_mac" {
\t\tcomment "port=ixp1 reason=src_mac"
\t\tpackets 1 bytes 50
\t}
\tcounter ixp2_tagged {
\t\tcomment "port=ixp2 tagged=ethertype"
\t\tpackets 7 bytes 700
\t}
\tcounter ixp2_ethertype {
\t\tcomment "port=ixp2 reason=ethertype"
\t\tpackets 7 bytes 700
\t}
\tcounter no_comment {
\t\tpackets 9 bytes 900
\t}
}
""")
    assert [c.name for c in counters][2] == "ixp1/src_mac" and counters[-1].comment == ""
    monkeypatch.setattr(drops.nft, "list_counters", lambda target: counters)
    box = Target(Path("/nonexistent"), "ns")
    got = {(d.port, d.reason): (d.packets, d.bytes) for d in drops.read_drops(box)}
    assert got == {("ixp1", "ethertype"): (5, 3 * 60 + 2 * 100), ("ixp1", "src_mac"): (1, 50),
                   ("ixp2", "ethertype"): (7, 728)}  # the hidden counter is no reason
    assert drops.parse_tag_comment("port=ixp1 tagged=ethertype") == ("ixp1", "ethertype")
    assert drops.parse_tag_comment("port=ixp1 reason=ethertype") is None
