"""Jinja filters that show values as a person reads them: times in the box's time zone,
sizes and counts in human units, hygiene drop reasons in words.

The English strings here are kept in one table each so that they can be translated later.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask, current_app, g, has_app_context

from appliance.config.committed import committed_config
from appliance.monitor.graphs import humanize

# Hygiene drop reason (the keys of appliance.bridge.hygiene.REASONS) -> a short sentence.
DROP_REASONS: dict[str, str] = {
    "src_mac": "frame from a MAC address that is not the member's",
    "bpdu": "spanning-tree frame (the member's switch speaks STP)",
    "link_local": "link-local frame such as LLDP, LACP or pause",
    "ethertype": "frame that is not IPv4, ARP or IPv6 (VLAN tag, CDP, LLC…)",
    "ra": "IPv6 router advertisement",
    "rs": "IPv6 router solicitation",
    "redirect6": "IPv6 redirect",
    "dhcpv6": "DHCPv6 message",
    "dhcp": "DHCP or BOOTP message",
    "icmp_redirect": "IPv4 ICMP redirect",
    "arp_spoof": "ARP for an address that is not the member's",
    "nd_spoof": "IPv6 neighbour advertisement for an address that is not the member's",
    "ipv4_broadcast": "IPv4 broadcast other than DHCP, such as NetBIOS or discovery protocols",
    "ipv4_multicast": "IPv4 multicast such as IGMP, OSPF, PIM, VRRP or mDNS",
    "ipv6_multicast": "IPv6 multicast other than neighbour discovery, such as MLD",
    "storm_bcast": "broadcast above the storm-control rate",
    "storm_mcast": "multicast above the storm-control rate",
    "quarantine": "the port is in quarantine: only ARP, ND and BGP to the route server pass",
    "quarantine_to": "traffic from other members to a port in quarantine",
}

TIME_FORMAT = "%Y-%m-%d %H:%M:%S %Z"


def box_timezone(state_dir: Path) -> tzinfo:
    """The committed configuration's ``management.timezone``; UTC without one."""
    cfg = committed_config(state_dir)
    if cfg is None or cfg.management.timezone in ("UTC", "Etc/UTC"):
        return UTC
    try:
        return ZoneInfo(cfg.management.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def _request_timezone() -> tzinfo:
    """The box's time zone, looked up once per request."""
    if not has_app_context():
        return UTC
    tz = g.get("_box_tz")
    if tz is None:
        tz = box_timezone(current_app.config["STATE_DIR"])
        g._box_tz = tz
    return tz


def to_datetime(value: Any) -> datetime | None:
    """An aware datetime from an ISO string, a datetime or a Unix time; None if it is none.

    A string or datetime without a zone is in the host's local time (BIRD prints those).
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(float(value), UTC)
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    else:
        return None
    return moment if moment.tzinfo is not None else moment.astimezone()


def localtime(value: Any, fmt: str = TIME_FORMAT, tz: tzinfo | None = None) -> str:
    """``'2026-12-01T07:55:56+00:00'`` -> ``'2026-12-01 19:55:56 +12'`` in the box's zone.

    Values that are not a time are shown as they are; none shows as a dash.
    """
    moment = to_datetime(value)
    if moment is None:
        return "–" if value in (None, "") else str(value)
    return moment.astimezone(tz or _request_timezone()).strftime(fmt)


def human(value: Any, unit: str = "") -> str:
    """Sizes, rates and counts in human units: ``(1234567, 'B')`` -> ``'1.23 MB'``,
    ``(1234567,)`` -> ``'1.23 M'``, ``(4321,)`` -> ``'4,321'``; none shows as a dash."""
    if value is None or value == "":
        return "–"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not unit:
        if abs(number) < 100_000:
            return f"{number:,.0f}" if number == int(number) else f"{number:,.2f}"
        return humanize(number, "").strip()
    return humanize(number, unit)


def drop_reason(key: str) -> str:
    """A hygiene drop reason key in words (``'src_mac'`` -> a short sentence)."""
    return DROP_REASONS.get(key, key.replace("_", " "))


def register(app: Flask) -> None:
    """Add the filters to ``app``'s templates."""
    app.add_template_filter(localtime, "localtime")
    app.add_template_filter(human, "human")
    app.add_template_filter(drop_reason, "drop_reason")
