"""Interface counters from netlink (64-bit), read inside the appliance's namespace."""

from __future__ import annotations

from dataclasses import dataclass

from pyroute2 import IPRoute


@dataclass(frozen=True)
class PortCounters:
    """One interface's counters at one moment (they only grow, except on a reset)."""

    name: str
    rx_bytes: int
    tx_bytes: int
    rx_packets: int
    tx_packets: int
    rx_errors: int
    tx_errors: int
    rx_dropped: int
    tx_dropped: int
    oper_up: bool


def read_counters(netns: str | None, names: set[str] | None = None) -> list[PortCounters]:
    """Counters of every interface in ``netns`` (or only ``names``), sorted by name."""
    out: list[PortCounters] = []
    with IPRoute(netns=netns) if netns else IPRoute() as ipr:
        for link in ipr.get_links():
            name = link.get("IFLA_IFNAME")
            if not name or name == "lo" or (names is not None and name not in names):
                continue
            stats = link.get("IFLA_STATS64") or {}
            out.append(PortCounters(
                name,
                int(stats.get("rx_bytes", 0)), int(stats.get("tx_bytes", 0)),
                int(stats.get("rx_packets", 0)), int(stats.get("tx_packets", 0)),
                int(stats.get("rx_errors", 0)), int(stats.get("tx_errors", 0)),
                int(stats.get("rx_dropped", 0)), int(stats.get("tx_dropped", 0)),
                link.get("IFLA_OPERSTATE") == "UP" or link.get("state") == "up",
            ))
    return sorted(out, key=lambda c: c.name)
