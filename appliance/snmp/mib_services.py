"""The resolver's and the anycast helper's health in NET-SNMP-EXTEND-MIB.

Monitoring systems (LibreNMS, Zabbix, Nagios' check_snmp) already read ``nsExtendOutput1Table``
from net-snmp's ``extend`` directive, so the box reports its services the same way, with no
private MIB to load: one row per service, keyed by a name, with a one-line summary and a result
code (0 = OK, 1 = warning, 2 = critical, 3 = unknown, as Nagios plugins use them).

  resolver               unbound running, and how good the local root copy is
  anycast:<prefix>       announced or withdrawn, from the anycast helper's published state
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pysnmp.proto import rfc1902

from appliance.anycast.status import read_status
from appliance.resolver.paths import UnboundPaths
from appliance.resolver.status import resolver_status
from appliance.snmp.oidstore import Oid, Row, Section, each_item, table_cells
from appliance.snmp.text import OCTET_STRING, display_string

NS_EXTEND_OBJECTS: Oid = (1, 3, 6, 1, 4, 1, 8072, 1, 3, 2)
NAME = "NET-SNMP-EXTEND-MIB::nsExtendObjects"
NUM_ENTRIES: Oid = (*NS_EXTEND_OBJECTS, 1, 0)
OUTPUT1_ENTRY: Oid = (*NS_EXTEND_OBJECTS, 3, 1)
OUTPUT2_ENTRY: Oid = (*NS_EXTEND_OBJECTS, 4, 1)
# nsExtendOutput1Entry columns
LINE1, FULL, NUM_LINES, RESULT = 1, 2, 3, 4

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3


@dataclass(frozen=True)
class ServiceRow:
    """One extend row: a service's name, its one-line summary and its result code."""

    token: str
    line: str
    result: int


def _index(token: str) -> Oid:
    # A string index: its length, then its bytes (SMIv2 for a variable-length OCTET STRING).
    raw = token.encode("ascii", "replace")
    return (len(raw), *raw)


def resolver_row(state_dir: Path) -> ServiceRow | None:
    """The resolver's row, or None when the resolver is not configured."""
    if not UnboundPaths(state_dir).conf.exists():
        return None
    st = resolver_status(state_dir)
    if not st["running"]:
        return ServiceRow("resolver", "unbound is not running", CRITICAL)
    root = st["root_zone"]
    assert isinstance(root, dict)
    state = root["state"]
    result = {"fresh": OK, "missing": WARNING, "stale": WARNING}.get(str(state), CRITICAL)
    return ServiceRow("resolver", f"unbound running; local root copy {state}", result)


def anycast_rows(state_dir: Path) -> list[ServiceRow]:
    """One row per anycast prefix the helper checks."""
    doc = read_status(state_dir)
    rows = []
    for chk in doc.get("checkers") or []:
        prefix = str(chk["prefixes"][0]) if chk.get("prefixes") else str(chk.get("name"))
        if not doc["running"]:
            rows.append(ServiceRow(f"anycast:{prefix}", "the anycast helper is not running",
                                   UNKNOWN))
            continue
        announced = "announced" if chk.get("announced") else "withdrawn"
        line = f"{chk.get('state')}, {announced}"
        if chk.get("callback_error"):
            line += f"; {chk['callback_error']}"
        result = OK if chk.get("state") == "up" and chk.get("announced") else CRITICAL
        if chk.get("state") == "unknown":
            result = UNKNOWN
        rows.append(ServiceRow(f"anycast:{prefix}", line, result))
    return rows


def service_rows(state_dir: Path) -> list[ServiceRow]:
    """Every row, resolver first."""
    rows = [r] if (r := resolver_row(state_dir)) is not None else []
    return rows + anycast_rows(state_dir)


def services_section(state_dir: Path, ttl: float = 10.0) -> Section:
    """``nsExtendNumEntries``, ``nsExtendOutput1Table`` and ``nsExtendOutput2Table``."""

    def one(row: ServiceRow) -> list[Row]:
        idx = _index(row.token)
        return [*table_cells(NAME, OUTPUT1_ENTRY, idx, {
            LINE1: (display_string, row.line),  # DisplayString
            FULL: (display_string, row.line, OCTET_STRING),  # OCTET STRING
            NUM_LINES: (rfc1902.Integer32, 1),
            RESULT: (rfc1902.Integer32, row.result),
        }), *table_cells(NAME, OUTPUT2_ENTRY, (*idx, 1), {
            # nsExtendOutLine (DisplayString): the same single line, numbered 1
            1: (display_string, row.line),
        })]

    def collect() -> list[Row]:
        rows = service_rows(state_dir)
        out: list[Row] = [(NUM_ENTRIES, rfc1902.Integer32(len(rows)))]
        return out + each_item(NAME, rows, one, lambda r: r.token)

    return Section(NS_EXTEND_OBJECTS, collect, ttl=ttl, name=NAME)
