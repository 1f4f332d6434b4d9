"""Jinja filters that show values as a person reads them: times in the box's time zone,
sizes and counts in human units, hygiene drop reasons in words, each in the reader's
language (Babel's number and date formats; the words through the catalogues).
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_datetime
from babel.numbers import format_decimal
from flask import Flask, current_app, g, has_app_context
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from appliance.config.committed import committed_config
from appliance.monitor.graphs import humanize
from appliance.route_server.communities import INFO_TAGS, REJECT_REASONS
from appliance.web.i18n import current_locale

# Hygiene drop reason (the keys of appliance.bridge.render.REASONS) -> a short sentence.
DROP_REASONS: dict[str, Any] = {
    "src_mac": _l("frame from a MAC address that is not the member's"),
    "bpdu": _l("spanning-tree frame (the member's switch speaks STP)"),
    "link_local": _l("link-local frame such as LLDP, LACP or pause"),
    "ethertype": _l("frame that is not IPv4, ARP or IPv6 (VLAN tag, CDP, LLC…)"),
    "ra": _l("IPv6 router advertisement"),
    "rs": _l("IPv6 router solicitation"),
    "redirect6": _l("IPv6 redirect"),
    "dhcpv6": _l("DHCPv6 message"),
    "dhcp": _l("DHCP or BOOTP message"),
    "icmp_redirect": _l("IPv4 ICMP redirect"),
    "arp_spoof": _l("ARP for an address that is not the member's"),
    "nd_spoof": _l("IPv6 neighbour advertisement for an address that is not the member's"),
    "ipv4_broadcast": _l("IPv4 broadcast other than DHCP, such as NetBIOS or discovery protocols"),
    "ipv4_multicast": _l("IPv4 multicast such as IGMP, OSPF, PIM, VRRP or mDNS"),
    "ipv6_multicast": _l("IPv6 multicast other than neighbour discovery, such as MLD"),
    "storm_bcast": _l("broadcast above the storm-control rate"),
    "storm_mcast": _l("multicast above the storm-control rate"),
    "blackhole": _l("traffic to the blackhole: a destination blackholed at the route server"),
    "quarantine": _l("the port is in quarantine: only ARP, ND and BGP to the route server pass"),
    "quarantine_to": _l("traffic from other members to a port in quarantine"),
}

# The route server's reject reasons and info tags (appliance.route_server.communities, English for
# BIRD and the API), keyed by their name, in the reader's language for the looking glass.
ROUTE_WORDS: dict[str, Any] = {
    "bogon_prefix": _l("the prefix is a bogon (private, reserved or documentation space)"),
    "bogon_asn": _l("the AS path contains a bogon ASN (private, reserved or 23456)"),
    "prefix_length": _l("the prefix is shorter or longer than the allowed lengths"),
    "default_route": _l("the route is a default route (0.0.0.0/0 or ::/0)"),
    "as_path_too_long": _l("the AS path is longer than the limit"),
    "first_as": _l("the first AS in the path is not the member's own ASN"),
    "next_hop": _l("the next hop is not an address of the member that announced it"),
    "transit_free_asn": _l("the AS path contains a transit-free network's ASN"),
    "rpki_invalid": _l("RPKI Invalid: a ROA covers the prefix, not with this origin/length"),
    "irr_origin": _l("the origin ASN is not in the member's AS-SET"),
    "irr_prefix": _l("the prefix is not registered for the member's AS-SET"),
    "blackhole_not_authorised": _l("a blackhole request not covered by the member's registered "
                                   "prefixes (or disabled)"),
    "empty_as_path": _l("the AS path is empty"),
    "no_route_server_asn": _l("the AS path contains the route server's own ASN"),
    "not_root_service_prefix": _l("a hosted root instance may announce only its root server's "
                                  "service prefixes"),
    "as_set": _l("the AS path contains an AS_SET (an aggregate hides who originated it)"),
    "never_via_route_servers": _l("the AS path contains a network that PeeringDB says is never "
                                  "reached via route servers"),
    "denied_prefix": _l("the IXP's operator refuses this prefix (deny list)"),
    "denied_asn": _l("the IXP's operator refuses an ASN in this path (deny list)"),
    "aspa_invalid": _l("ASPA Invalid: an AS in the path does not list the next AS up as its "
                       "provider"),
    "rpki_valid": _l("RPKI Valid"),
    "rpki_unknown": _l("RPKI NotFound: no ROA covers the prefix"),
    "rpki_invalid_tagged": _l("RPKI Invalid, accepted as the member's policy only tags"),
    "irr_ok": _l("origin and prefix are registered in the member's AS-SET"),
    "irr_failed_tagged": _l("not in the member's AS-SET, accepted because policy only tags"),
    "irr_unknown": _l("no IRR data for the member yet; IRR was not checked"),
    "blackhole": _l("a blackhole route accepted from the member (NO_EXPORT added)"),
    "graceful_shutdown": _l("GRACEFUL_SHUTDOWN: LOCAL_PREF set to 0 on the route server"),
    "irr_by_roa": _l("not in the member's AS-SET, accepted as a ROA makes it RPKI Valid"),
    "aspa_valid": _l("ASPA Valid: every AS in the path lists the next AS up as provider"),
    "aspa_unknown": _l("ASPA Unknown: an AS in the path publishes no ASPA"),
    "aspa_invalid_tagged": _l("ASPA Invalid, accepted as the member's policy only tags"),
}
_ROUTE_KEYS = {r.text: r.key for r in (*REJECT_REASONS, *INFO_TAGS)}

# What a NIC is used for (appliance.bridge.inventory's roles), for the NIC tables.
NIC_ROLES: dict[str, Any] = {"management": _l("management"), "peering-lan": _l("peering LAN"),
                             "member": _l("member"), "free": _l("free")}

# The pipeline's stages and their states (appliance.pipeline.run), on the apply page.
STAGE_NAMES: dict[str, Any] = {"validate": _l("validate"), "render": _l("render"),
                               "verify": _l("verify"), "plan": _l("plan"), "apply": _l("apply"),
                               "commit": _l("commit")}
STAGE_STATES: dict[str, Any] = {"waiting": _l("waiting"), "running": _l("running"),
                                "ok": _l("ok"), "failed": _l("failed"), "skipped": _l("skipped")}

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
    local = moment.astimezone(tz or _request_timezone())
    locale = current_locale()
    if fmt != TIME_FORMAT or locale.language == "en":
        return local.strftime(fmt)
    # Other languages get their own date order and month names from Babel (fr: "1 déc. 2026,
    # 20:02:48"); the zone stays as the box names it (+12, UTC).
    return f"{format_datetime(local, 'medium', tzinfo=local.tzinfo, locale=locale)} " \
        f"{local.strftime('%Z')}"


def human(value: Any, unit: str = "") -> str:
    """Sizes, rates and counts in human units: ``(1234567, 'B')`` -> ``'1.23 MB'``,
    ``(1234567,)`` -> ``'1.23 M'``, ``(4321,)`` -> ``'4,321'``; none shows as a dash."""
    if value is None or value == "":
        return "–"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    locale = current_locale()
    if not unit and abs(number) < 100_000:
        return format_decimal(number, "#,##0" if number == int(number) else "#,##0.00",
                              locale=locale)
    text = humanize(number, unit).strip()
    if locale.language == "en":
        return text
    # humanize writes '1.23 MB'; only the number's separators change with the language
    figure, _, rest = text.partition(" ")
    try:
        return f"{format_decimal(float(figure), '#,##0.###', locale=locale)} {rest}".strip()
    except ValueError:
        return text


def drop_reason(key: str) -> str:
    """A hygiene drop reason key in words (``'src_mac'`` -> a short sentence)."""
    return str(DROP_REASONS.get(key, key.replace("_", " ")))


def route_words(text: str) -> str:
    """A looking-glass reject reason or tag (its English text) in the reader's language."""
    key = _ROUTE_KEYS.get(text)
    return str(ROUTE_WORDS[key]) if key in ROUTE_WORDS else text


def stage_words() -> dict[str, dict[str, str]]:
    """The apply page's stage names and states in the reader's language (for its script too)."""
    return {"names": {k: str(v) for k, v in STAGE_NAMES.items()},
            "states": {k: str(v) for k, v in STAGE_STATES.items()}}


def register(app: Flask) -> None:
    """Add the filters to ``app``'s templates."""
    app.add_template_global(stage_words, "stage_words")
    app.add_template_global(route_words, "reject_reason")
    app.add_template_global(NIC_ROLES, "nic_roles")
    app.add_template_global(Markup, "Markup")
    app.add_template_filter(localtime, "localtime")
    app.add_template_filter(human, "human")
    app.add_template_filter(drop_reason, "drop_reason")
