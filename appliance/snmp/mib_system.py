"""SNMPv2-MIB system group and the SNMP-FRAMEWORK-MIB snmpEngine objects."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from pysnmp.proto import rfc1902

from appliance.snmp.oidstore import Oid, Row, Section, table_cells
from appliance.snmp.text import display_string

SYSTEM = (1, 3, 6, 1, 2, 1, 1)
SNMP_ENGINE = (1, 3, 6, 1, 6, 3, 10, 2, 1)
SYSTEM_NAME = "SNMPv2-MIB::system"
# NET-SNMP-MIB::linux. The project has no private enterprise number yet; this value makes
# LibreNMS, Observium and Cacti treat the box as the Linux server it is, with no plugins.
SYS_OBJECT_ID: Oid = (1, 3, 6, 1, 4, 1, 8072, 3, 2, 10)
# OSI layers offered (RFC 3418): 4 internet (routing for the members) + 8 end-to-end
# + 64 applications (DNS, the route server).
SYS_SERVICES = 4 + 8 + 64


def sys_descr(version: str = "") -> str:
    """``Linux <node> <release> <version> <machine>``, the form net-snmp uses, plus our name."""
    u = os.uname()
    text = f"{u.sysname} {u.nodename} {u.release} {u.version} {u.machine}"
    if version:
        text += f" - starter IXP appliance {version}"
    return text  # cut to sysDescr's 255 octets where it is served


def system_section(descr: str, name: str, contact: str, location: str,
                   started: float | None = None) -> Section:
    """The system group; sysUpTime counts from ``started`` (the agent's start)."""
    t0 = time.monotonic() if started is None else started

    def collect() -> list[Row]:
        uptime = int((time.monotonic() - t0) * 100) % (1 << 32)
        return table_cells(SYSTEM_NAME, SYSTEM, (0,), {
            1: (display_string, descr),
            2: (rfc1902.ObjectIdentifier, SYS_OBJECT_ID),
            3: (rfc1902.TimeTicks, uptime),
            4: (display_string, contact),
            5: (display_string, name),
            6: (display_string, location),
            7: (rfc1902.Integer32, SYS_SERVICES),
        })

    # ttl 0: sysUpTime must be exact, and the group is seven cheap values.
    return Section(SYSTEM, collect, ttl=0.0, name=SYSTEM_NAME)


def uptime_ticks_fn(started: float) -> Callable[[], int]:
    """sysUpTime now, in hundredths of a second, for the other MIBs (ifLastChange)."""
    return lambda: int((time.monotonic() - started) * 100) % (1 << 32)


def engine_section(values: Callable[[], tuple[bytes, int, int, int]]) -> Section:
    """snmpEngineID, snmpEngineBoots, snmpEngineTime, snmpEngineMaxMessageSize, as USM uses
    them: ``values`` gives them (pysnmp's engine, or the agent's own without SNMPv3 users)."""

    def collect() -> list[Row]:
        eid, boots, etime, maxsize = values()
        return [
            ((*SNMP_ENGINE, 1, 0), rfc1902.OctetString(eid)),
            ((*SNMP_ENGINE, 2, 0), rfc1902.Integer32(boots)),
            ((*SNMP_ENGINE, 3, 0), rfc1902.Integer32(etime)),
            ((*SNMP_ENGINE, 4, 0), rfc1902.Integer32(maxsize)),
        ]

    return Section(SNMP_ENGINE, collect, ttl=0.0, name="SNMP-FRAMEWORK-MIB::snmpEngine")
