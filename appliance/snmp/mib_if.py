"""IF-MIB: ifNumber, ifTable and ifXTable for the member ports, the bridge and the management NIC.

Values come from one netlink dump (IFLA_STATS64) per snapshot; 32-bit columns are the 64-bit
kernel counters modulo 2^32, as RFC 2863 asks. The kernel has no broadcast counters and counts
multicast only on receive, so those columns report what the kernel knows (0 where it knows
nothing), as net-snmp does on Linux.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pysnmp.proto import rfc1902

from appliance.snmp.ifindex import IfIndexMap
from appliance.snmp.netlink import Link, read_links
from appliance.snmp.oidstore import Row, Section, each_item, table_cells
from appliance.snmp.settings import Interface
from appliance.snmp.text import IF_ALIAS, display_string

INTERFACES = (1, 3, 6, 1, 2, 1, 2)  # ifNumber (.1) and ifTable (.2)
IF_ENTRY = (*INTERFACES, 2, 1)
IFX_ENTRY = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1)
IFX_TABLE = IFX_ENTRY[:-1]
TABLE_NAME = "IF-MIB::ifTable"
XTABLE_NAME = "IF-MIB::ifXTable"

IFTYPE_ETHERNET = 6
IFTYPE_LOOPBACK = 24
IFTYPE_L2VLAN = 135
IFTYPE_BRIDGE = 209

OPER = {"UP": 1, "DOWN": 2, "TESTING": 3, "UNKNOWN": 4, "DORMANT": 5, "NOTPRESENT": 6,
        "LOWERLAYERDOWN": 7}

M32 = 1 << 32
G32_MAX = M32 - 1


def if_type(link: Link) -> int:
    """IANAifType for a device."""
    if link.kind == "bridge":
        return IFTYPE_BRIDGE
    if link.kind == "vlan":
        return IFTYPE_L2VLAN
    if link.name == "lo":
        return IFTYPE_LOOPBACK
    return IFTYPE_ETHERNET


def oper_status(link: Link) -> int:
    """ifOperStatus: the kernel's RFC 2863 operstate; UNKNOWN with carrier counts as up."""
    if link.oper == "UNKNOWN" and link.admin_up and link.running:
        return 1  # loopback, dummy and some virtual devices never report UP
    if not link.admin_up:
        return 2
    return OPER.get(link.oper, 4)


@dataclass
class IfRow:
    """One interface at snapshot time."""

    index: int
    link: Link
    conf: Interface
    last_change: int  # sysUpTime ticks


class InterfaceSource:
    """The configured interfaces that exist now, with stable indexes and last-change times."""

    def __init__(self, interfaces: Sequence[Interface], ifindex: IfIndexMap,
                 uptime_ticks: Callable[[], int],
                 reader: Callable[[set[str]], dict[str, Link]] = read_links,
                 ttl: float = 5.0) -> None:
        self.interfaces = list(interfaces)
        self.ifindex = ifindex
        self.uptime_ticks = uptime_ticks
        self.reader = reader
        self.ttl = ttl
        self._lock = threading.Lock()
        self._rows: list[IfRow] = []
        self._stamp = -1e18
        self._last: dict[str, tuple[int, int]] = {}  # name -> (oper status, change ticks)
        # Allocate in configuration order, so a fresh box numbers ports as the operator lists them.
        self.ifindex.assign(i.name for i in self.interfaces)

    def rows(self) -> list[IfRow]:
        """The snapshot, re-read from the kernel when older than ``ttl``."""
        with self._lock:
            now = time.monotonic()
            if now - self._stamp >= self.ttl:
                self._rows = self._read()
                self._stamp = now
            return self._rows

    def _read(self) -> list[IfRow]:
        links = self.reader({i.name for i in self.interfaces})
        ticks = self.uptime_ticks()
        rows = []
        for conf in self.interfaces:
            link = links.get(conf.name)
            if link is None:
                continue  # a configured port that is not there (yet) is not shown
            status = oper_status(link)
            prev = self._last.get(conf.name)
            # The kernel does not record when a link changed; we notice it at the next read
            # (at most ttl late) and report 0 for changes before the agent started.
            changed = 0 if prev is None else (ticks if prev[0] != status else prev[1])
            self._last[conf.name] = (status, changed)
            rows.append(IfRow(self.ifindex.index_of(conf.name), link, conf, changed))
        rows.sort(key=lambda r: r.index)
        return rows


def _label(r: IfRow) -> str:
    return f"{r.index} ({r.link.name})"


def _speed(link: Link) -> tuple[int, int]:
    """(ifSpeed bits/s capped at 2^32-1, ifHighSpeed Mb/s)."""
    mbps = link.speed_mbps or 0
    return min(mbps * 1_000_000, G32_MAX), mbps


def interfaces_section(source: InterfaceSource, ttl: float = 5.0) -> Section:
    """ifNumber and ifTable."""

    def row(r: IfRow) -> list[Row]:
        s, link = r.link.stats, r.link
        speed, _ = _speed(link)
        mcast = s.get("multicast", 0)
        return table_cells(TABLE_NAME, IF_ENTRY, (r.index,), {
            1: (rfc1902.Integer32, r.index),
            2: (display_string, link.name),
            3: (rfc1902.Integer32, if_type(link)),
            4: (rfc1902.Integer32, link.mtu),
            5: (rfc1902.Gauge32, speed),
            6: (rfc1902.OctetString, link.mac),
            7: (rfc1902.Integer32, 1 if link.admin_up else 2),
            8: (rfc1902.Integer32, oper_status(link)),
            9: (rfc1902.TimeTicks, r.last_change),
            10: (rfc1902.Counter32, s.get("rx_bytes", 0) % M32),
            11: (rfc1902.Counter32, max(s.get("rx_packets", 0) - mcast, 0) % M32),
            13: (rfc1902.Counter32, s.get("rx_dropped", 0) % M32),
            14: (rfc1902.Counter32, s.get("rx_errors", 0) % M32),
            15: (rfc1902.Counter32, 0),
            16: (rfc1902.Counter32, s.get("tx_bytes", 0) % M32),
            17: (rfc1902.Counter32, s.get("tx_packets", 0) % M32),
            19: (rfc1902.Counter32, s.get("tx_dropped", 0) % M32),
            20: (rfc1902.Counter32, s.get("tx_errors", 0) % M32),
        })

    def collect() -> list[Row]:
        rows = source.rows()
        out: list[Row] = [((*INTERFACES, 1, 0), rfc1902.Integer32(len(rows)))]
        return out + each_item(TABLE_NAME, rows, row, _label)

    return Section(INTERFACES, collect, ttl=ttl, name=TABLE_NAME)


def ifx_section(source: InterfaceSource, ttl: float = 5.0) -> Section:
    """ifXTable: names, aliases, 64-bit counters, ifHighSpeed."""

    def row(r: IfRow) -> list[Row]:
        s, link = r.link.stats, r.link
        _, high = _speed(link)
        mcast = s.get("multicast", 0)
        return table_cells(XTABLE_NAME, IFX_ENTRY, (r.index,), {
            1: (display_string, link.name),
            2: (rfc1902.Counter32, mcast % M32),
            3: (rfc1902.Counter32, 0),
            4: (rfc1902.Counter32, 0),
            5: (rfc1902.Counter32, 0),
            6: (rfc1902.Counter64, s.get("rx_bytes", 0)),
            7: (rfc1902.Counter64, max(s.get("rx_packets", 0) - mcast, 0)),
            8: (rfc1902.Counter64, mcast),
            9: (rfc1902.Counter64, 0),
            10: (rfc1902.Counter64, s.get("tx_bytes", 0)),
            11: (rfc1902.Counter64, s.get("tx_packets", 0)),
            12: (rfc1902.Counter64, 0),
            13: (rfc1902.Counter64, 0),
            14: (rfc1902.Integer32, 2),  # ifLinkUpDownTrapEnable: disabled (no traps)
            15: (rfc1902.Gauge32, high),
            16: (rfc1902.Integer32, 2),  # ifPromiscuousMode: false
            17: (rfc1902.Integer32, 1 if link.kind is None else 2),  # connector: NICs only
            18: (display_string, r.conf.alias, IF_ALIAS),
            19: (rfc1902.TimeTicks, 0),  # counters never restart while the agent runs
        })

    def collect() -> list[Row]:
        return each_item(XTABLE_NAME, source.rows(), row, _label)

    return Section(IFX_TABLE, collect, ttl=ttl, name=XTABLE_NAME)
