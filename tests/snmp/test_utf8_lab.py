"""Issue 13: member names outside Latin-1 over SNMP, read with net-snmp's own clients.

One member called "Kōrero Café ☕ Ñandú" used to empty the whole ifXTable. Now every port's
row is there, and every string is UTF-8 cut at a character boundary to the object's size.
The clients print strings in hex (``-Ox``) so the test sees the exact bytes on the wire.
"""

from __future__ import annotations

import pytest

from tests.snmp.snmplab import (
    KORERO,
    LONG_LOCATION,
    LONG_NAME,
    fitting_prefix,
    parse_lines,
    parse_octets,
)

pytestmark = [pytest.mark.netns, pytest.mark.slow]

IFX_ENTRY = ".1.3.6.1.2.1.31.1.1.1"
IF_ENTRY = ".1.3.6.1.2.1.2.2.1"
SYS_LOCATION = ".1.3.6.1.2.1.1.6.0"
PORTS = ("mgmt0", "br-ixp", "ixp1", "ixp2")
IFX_COLUMNS = range(1, 20)


def _octets(lab, tool: str, oid: str) -> dict[str, bytes]:
    r = lab.v2c(tool, oid, opts=("-Ox",))
    assert r.returncode == 0, r.stderr
    return parse_octets(r.stdout)


def test_the_long_values_really_cut_inside_a_character():
    # The test values must exercise the boundary: a plain byte cut would break them.
    for text, limit in ((f"AS64497 {LONG_NAME}", 64), (LONG_LOCATION, 255)):
        raw = text.encode("utf-8")
        assert len(raw) > limit
        with pytest.raises(UnicodeDecodeError):
            raw[:limit].decode("utf-8")


@pytest.mark.parametrize("tool", ["snmpbulkwalk", "snmpwalk"])
def test_ifxtable_complete_with_utf8_aliases(utf8_lab, tool):
    r = utf8_lab.v2c(tool, IFX_ENTRY[1:], opts=("-Ox",))
    assert r.returncode == 0, r.stderr
    values = parse_lines(r.stdout)
    octets = parse_octets(r.stdout)
    index = {octets[oid].decode(): int(oid.rsplit(".", 1)[1])
             for oid in octets if oid.startswith(f"{IFX_ENTRY}.1.")}
    assert set(index) == set(PORTS)
    for name, i in index.items():  # every column of every row: no port lost its counters
        missing = [c for c in IFX_COLUMNS if f"{IFX_ENTRY}.{c}.{i}" not in values]
        assert not missing, (name, missing)
    alias = {name: octets[f"{IFX_ENTRY}.18.{i}"] for name, i in index.items()}
    assert alias["ixp1"].decode("utf-8") == f"AS64496 {KORERO}"
    cut = alias["ixp2"]
    assert len(cut) <= 64
    assert cut.decode("utf-8") == fitting_prefix(f"AS64497 {LONG_NAME}", 64)
    assert alias["br-ixp"] == b"EIIX peering LAN"
    assert alias["mgmt0"] == b"management"


def test_iftable_complete(utf8_lab):
    got = parse_lines(utf8_lab.v2c("snmpbulkwalk", IF_ENTRY[1:]).stdout)
    descr = sorted(v.strip('"') for oid, (_, v) in got.items()
                   if oid.startswith(f"{IF_ENTRY}.2."))
    assert descr == sorted(PORTS)


def test_v3_serves_the_same_utf8_octets(utf8_lab):
    walk = _octets(utf8_lab, "snmpbulkwalk", f"{IFX_ENTRY[1:]}.1")
    i = next(oid.rsplit(".", 1)[1] for oid, v in walk.items() if v == b"ixp1")
    r = utf8_lab.v3("snmpget", f"{IFX_ENTRY}.18.{i}", opts=("-Ox",))
    assert r.returncode == 0, r.stderr
    assert parse_octets(r.stdout)[f"{IFX_ENTRY}.18.{i}"].decode("utf-8") == f"AS64496 {KORERO}"


def test_sys_location_is_utf8_cut_at_255_bytes(utf8_lab):
    got = _octets(utf8_lab, "snmpget", SYS_LOCATION)[SYS_LOCATION]
    assert len(got) <= 255
    assert got.decode("utf-8") == fitting_prefix(LONG_LOCATION, 255)
