"""Issue 16 (hardening), the pure part: rule order and the multicast rules in the rendered
hygiene ruleset, and the docs' table of reasons (no root, no I/O)."""

from __future__ import annotations

import re
from pathlib import Path

import bridgelab as bl

from appliance.bridge.hygiene import REASONS, render_hygiene

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
        assert "icmpv6 type != { nd-neighbor-solicit, nd-neighbor-advert }" in rules[v6[1]]
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
