"""Issue 13, the pure parts: UTF-8 strings cut at character boundaries, and tables that lose
only the bad value, never every row."""

from __future__ import annotations

import logging

import pytest

from appliance.snmp.ber import decode_value
from appliance.snmp.bgp_model import BgpPeer, BgpSnapshot
from appliance.snmp.ifindex import IfIndexMap
from appliance.snmp.mib_bgp import V2_PEER_ENTRY, bgp4v2_rows
from appliance.snmp.mib_if import IFX_ENTRY, InterfaceSource, ifx_section
from appliance.snmp.mib_system import SYSTEM, system_section
from appliance.snmp.netlink import Link
from appliance.snmp.settings import Interface
from appliance.snmp.text import IF_ALIAS, display_string, utf8_octets
from tests.snmp.snmplab import KORERO, LONG_NAME, fitting_prefix

TEXTS = [KORERO, f"AS64497 {LONG_NAME}", "plain ASCII", "☕" * 30, "𝄞 clef " * 10, ""]


@pytest.mark.parametrize("text", TEXTS)
def test_every_cut_is_the_longest_whole_character_prefix(text):
    for limit in range(len(text.encode()) + 2):
        raw = utf8_octets(text, limit)
        assert len(raw) <= limit
        assert raw.decode("utf-8") == fitting_prefix(text, limit)


def test_utf8_not_latin1_and_normalised():
    assert utf8_octets("Café") == b"Caf\xc3\xa9"  # pysnmp alone would send Latin-1 b"Caf\xe9"
    assert utf8_octets("Ko\u0304rero") == "Kōrero".encode()  # combining macron -> one "ō"
    assert utf8_octets("mnt-\udcff") == b"mnt-?"  # an undecodable mount point name
    assert display_string(KORERO).asOctets() == KORERO.encode()


def _link(name: str, stats: dict | None) -> Link:
    return Link(name, 1, None, 1500, b"\x02\x00\x00\x00\x00\x01", True, "UP", True,
                stats if stats is not None else {}, 10000)


def test_ifxtable_keeps_every_row_when_one_value_is_bad(tmp_path, caplog):
    ifaces = [Interface("ixp1", f"AS64496 {KORERO}", "member"),
              Interface("ixp2", f"AS64497 {LONG_NAME}", "member"),
              Interface("ixp3", "AS64498 Reef", "member"),
              Interface("ixp4", "AS64499 Gone", "member")]
    links = {"ixp1": _link("ixp1", {"rx_bytes": 5}),
             "ixp2": _link("ixp2", {"rx_bytes": -1}),  # not a Counter64: that cell only
             "ixp3": _link("ixp3", {}),
             "ixp4": _link("ixp4", {})}
    links["ixp4"].stats = None  # type: ignore[assignment]  # the whole row cannot be built
    source = InterfaceSource(ifaces, IfIndexMap(tmp_path / "ifindex.json"), lambda: 0,
                             reader=lambda names: links, ttl=0)
    section = ifx_section(source, ttl=0)
    with caplog.at_level(logging.DEBUG, logger="appliance.snmp.oidstore"):
        section.refresh()
        section.refresh(now=1e9)  # the same problems again: reported once each
    idx = {name: source.ifindex.index_of(name) for name in links}

    def value(col: int, name: str):
        return section.get((*IFX_ENTRY, col, idx[name]))

    assert value(18, "ixp1").asOctets().decode() == f"AS64496 {KORERO}"
    assert value(18, "ixp2").asOctets().decode() == fitting_prefix(f"AS64497 {LONG_NAME}",
                                                                   IF_ALIAS)
    assert int(value(6, "ixp1")) == 5
    assert value(6, "ixp2") is None  # the bad counter is left out ...
    assert value(10, "ixp2") is not None and value(1, "ixp2") is not None  # ... nothing else
    assert value(1, "ixp3").asOctets() == b"ixp3"
    assert value(1, "ixp4") is None  # the broken row, alone
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 2, [r.getMessage() for r in errors]
    assert any("column 6 of row" in r.getMessage() for r in errors)
    assert any("row 4 (ixp4)" in r.getMessage() for r in errors)


def test_bgp4v2_keeps_other_peers_when_one_is_bad():
    peers = [BgpPeer("a", "203.0.113.10", 64496, "established", True, description=KORERO),
             BgpPeer("b", "203.0.113.11", 64497, "no-such-state", True, description="B"),
             BgpPeer("c", "2001:db8::12", 64498, "idle", True, description="C ☕")]
    rows = {oid: decode_value(v) for oid, v in bgp4v2_rows(BgpSnapshot(64511, "203.0.113.1",
                                                                       peers))}

    def descr(*index: int) -> bytes:
        return rows[(*V2_PEER_ENTRY, 14, 1, *index)].asOctets()

    assert descr(1, 203, 0, 113, 10).decode() == KORERO
    assert descr(1, 203, 0, 113, 11) == b"B"
    assert (*V2_PEER_ENTRY, 13, 1, 1, 203, 0, 113, 11) not in rows  # only the bad state cell
    assert descr(2, *bytes.fromhex("20010db8000000000000000000000012")).decode() == "C ☕"


def test_system_group_in_utf8():
    section = system_section("Linux box", "rs1", "noc@example.net", "Ōtautahi ☕")
    section.refresh()
    assert section.get((*SYSTEM, 6, 0)).asOctets() == "Ōtautahi ☕".encode()
    assert section.get((*SYSTEM, 5, 0)).asOctets() == b"rs1"
