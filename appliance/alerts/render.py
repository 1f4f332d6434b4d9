"""The alert engine's own file (``etc/alerts/alerts.json``), rendered from the model (pure).

The collector that evaluates the rules runs all the time on the 1 GB box and never loads the
model (issue 14): it reads this file, which holds the rules, the channels (with their secrets,
hence mode 0600) and the few names it needs to word an alert (members by port and address).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from appliance.config.model import IXPConfig

SETTINGS_FILE = "alerts/alerts.json"  # under the state dir's etc/
# The collector's own user on the image (systemd/ixp-collector.service) runs the alert engine:
# the only group that may read the channels' secrets besides root.
SETTINGS_GROUP = "ixp-collector"
VERSION = 1


def channels(cfg: IXPConfig) -> list[dict[str, Any]]:
    """Every configured channel with its id (``email``, ``webhook:0``, ``syslog:0``,
    ``snmp:0``): the id the page's and ``ixpctl alerts test``'s test message names."""
    a = cfg.alerts
    out: list[dict[str, Any]] = []
    if a.email.enabled:
        out.append({"id": "email", "type": "email", "relay": a.email.relay,
                    "port": a.email.port, "starttls": a.email.starttls,
                    "username": a.email.username, "password": a.email.smtp_password,
                    "sender": str(a.email.sender), "recipients": [str(r) for r in
                                                                a.email.recipients]})
    for i, w in enumerate(a.webhooks):
        out.append({"id": f"webhook:{i}", "type": "webhook", "url": w.url,
                    "secret": w.hmac_secret})
    for i, s in enumerate(a.syslog):
        out.append({"id": f"syslog:{i}", "type": "syslog", "host": s.host, "port": s.port,
                    "transport": s.transport})
    for i, m in enumerate(a.snmp_managers):
        out.append({"id": f"snmp:{i}", "type": "snmp", "host": m.host, "port": m.port,
                    "version": m.version, "community": m.community, "user": m.user,
                    "auth_protocol": m.auth_protocol, "auth_password": m.auth_password,
                    "priv_protocol": m.priv_protocol, "priv_password": m.priv_password})
    return out


def alert_settings(cfg: IXPConfig) -> dict[str, Any]:
    """The engine's file as a JSON-ready dict."""
    a = cfg.alerts
    return {
        "version": VERSION,
        "enabled": a.enabled,
        "ixp": cfg.identity.short_name,
        "hostname": cfg.management.hostname,
        "quiet_minutes": a.quiet_minutes,
        "rules": a.rules.model_dump(mode="json"),
        "channels": channels(cfg),
        "rs_asn": cfg.route_server.asn,
        "members": {str(a): [m.asn, m.name] for m in cfg.members for a in (*m.ipv4, *m.ipv6)},
        "ports": {p.ifname: f"AS{m.asn} {m.name}" for m in cfg.members for p in m.ports},
        "resolver": cfg.services.resolver.enabled,
        "local_root": cfg.services.resolver.enabled and cfg.services.resolver.local_root,
        "anycast": bool(cfg.services.anycast) and cfg.services.resolver.enabled,
    }


def render_settings(cfg: IXPConfig) -> bytes:
    """``etc/alerts/alerts.json``: same model, same bytes."""
    return (json.dumps(alert_settings(cfg), indent=1, sort_keys=True) + "\n").encode()


def parse_settings(data: Any) -> dict[str, Any]:
    """The decoded file, checked; ``ValueError`` naming what is wrong."""
    if not isinstance(data, dict) or data.get("version") != VERSION:
        raise ValueError(f'the file must be a JSON object with "version": {VERSION}')
    for key, kind in (("rules", dict), ("channels", list), ("ports", dict),
                      ("quiet_minutes", int), ("rs_asn", int)):
        if not isinstance(data.get(key), kind):
            raise ValueError(f"{key} must be a {kind.__name__}")
    for ch in data["channels"]:
        if not isinstance(ch, dict) or ch.get("type") not in ("email", "webhook", "syslog",
                                                               "snmp") or not ch.get("id"):
            raise ValueError(f"channels: {ch!r} is not a channel")
    return data
