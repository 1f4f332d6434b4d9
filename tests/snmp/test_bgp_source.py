"""BGP4-MIB's sessions read from a reply of a real BIRD 2.0.12 (recorded with birdlab.py), through
the one parser of BIRD's replies (platform/bird/replies.py)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from appliance.platform.bird.replies import parse_protocols, parse_reply
from appliance.snmp.ber import decode_value
from appliance.snmp.bgp_model import BgpSnapshot
from appliance.snmp.bgp_source import bgp_peers, parse_since
from appliance.snmp.mib_bgp import BGP4, BGP_PEER_ENTRY, V2_PEER_ENTRY, bgp4_rows, bgp4v2_rows

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "bird" / "replies" / \
    "protocols_all_snmp.txt"


def peers():
    reply = parse_reply(FIXTURE.read_text().split("\n", 1)[1])  # line 1 names the command
    return {p.name: p for p in bgp_peers(parse_protocols(reply))}


def test_parses_every_bgp_protocol_and_skips_others():
    got = peers()
    assert list(got) == ["as64496_v4", "as64496_v6", "as64497_v4", "as64498_v4"]


def test_established_session_fields():
    p = peers()["as64496_v4"]
    assert (p.state, p.admin_up, p.remote_address, p.remote_as) == \
        ("established", True, "203.0.113.10", 64496)
    assert (p.local_address, p.local_as, p.remote_id) == ("203.0.113.1", 64511, "203.0.113.10")
    assert (p.in_updates, p.out_updates, p.hold_time, p.keepalive) == (2, 0, 90, 30)
    assert p.description == "Island Telecom"
    assert p.since == datetime(2026, 11, 23, 20, 21, 27)


def test_down_and_connecting_sessions():
    got = peers()
    assert (got["as64497_v4"].state, got["as64497_v4"].admin_up) == ("connect", True)
    assert (got["as64498_v4"].state, got["as64498_v4"].admin_up) == ("idle", False)
    assert got["as64496_v6"].remote_address == "2001:db8:eeee::10"


def test_since_formats():
    now = datetime(2026, 11, 23, 10, 0, 0)
    assert parse_since("2026-11-20 08:01:02", now) == datetime(2026, 11, 20, 8, 1, 2)
    assert parse_since("09:59:00.123", now) == datetime(2026, 11, 23, 9, 59, 0, 123000)
    assert parse_since("23:00:00", now) == datetime(2026, 11, 22, 23, 0, 0)  # yesterday
    assert parse_since("garbage", now) is None


def decoded(rows) -> dict:
    """The rows' values as pysnmp objects (the builders keep them BER-encoded)."""
    return {oid: decode_value(value) for oid, value in rows}


def test_mib_rows_from_fixture():
    snap = BgpSnapshot(64511, "203.0.113.1", list(peers().values()))
    now = datetime(2026, 11, 23, 20, 22, 27)
    rows = decoded(bgp4_rows(snap, now))
    assert int(rows[(*BGP4, 2, 0)]) == 64511
    ip = (203, 0, 113, 10)
    assert int(rows[(*BGP_PEER_ENTRY, 2, *ip)]) == 6
    assert int(rows[(*BGP_PEER_ENTRY, 16, *ip)]) == 60
    assert int(rows[(*BGP_PEER_ENTRY, 3, 203, 0, 113, 12)]) == 1  # disabled: stop
    assert not any(oid[len(BGP_PEER_ENTRY) + 1:][:1] == (32,) for oid in rows)  # no IPv6
    v2 = decoded(bgp4v2_rows(snap, now))
    v6 = (1, 2, 0x20, 0x01, 0x0D, 0xB8, 0xEE, 0xEE) + (0,) * 9 + (0x10,)
    assert int(v2[(*V2_PEER_ENTRY, 13, *v6)]) == 6
    assert int(v2[(*V2_PEER_ENTRY, 10, *v6)]) == 64496


def test_four_octet_as_shows_as_trans_in_bgp4_mib():
    p = peers()["as64496_v4"]
    from dataclasses import replace
    snap = BgpSnapshot(4200000000, "203.0.113.1", [replace(p, remote_as=4200000001)])
    rows = decoded(bgp4_rows(snap))
    assert int(rows[(*BGP4, 2, 0)]) == 23456
    assert int(rows[(*BGP_PEER_ENTRY, 9, 203, 0, 113, 10)]) == 23456
    v2 = decoded(bgp4v2_rows(snap))
    assert int(v2[(*V2_PEER_ENTRY, 10, 1, 1, 203, 0, 113, 10)]) == 4200000001
