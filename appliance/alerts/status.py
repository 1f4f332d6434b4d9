"""The alerts as plain data for the Alerts page, ``GET /api/v1/alerts`` and ``ixpctl alerts``:
open and past alerts, the channels (without their secrets) and the recent deliveries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from appliance.alerts.engine import load_settings
from appliance.alerts.store import AlertStore

SEVERITY_ORDER = {"critical": 0, "warning": 1, "notice": 2, "info": 3}


def channel_view(channel: dict[str, Any]) -> dict[str, Any]:
    """A channel as the page shows it: its id, kind and where it sends to."""
    where = {"email": lambda c: f"{', '.join(c['recipients'])} via {c['relay']}:{c['port']}",
             "webhook": lambda c: c["url"] + (" (signed)" if c.get("secret") else ""),
             "syslog": lambda c: f"{c['host']}:{c['port']}/{c.get('transport', 'udp')}",
             "snmp": lambda c: f"{c['host']}:{c['port']} " + (
                 f"(SNMPv3 inform, user {c['user']})" if c.get("version") == "v3"
                 else "(SNMPv2c trap)")}
    return {"id": channel["id"], "type": channel["type"],
            "target": where[channel["type"]](channel)}


def alerts_status(state_dir: Path, *, past: int = 100, deliveries: int = 50) -> dict[str, Any]:
    """Open alerts (most severe first), the newest past ones, channels and deliveries."""
    store = AlertStore(Path(state_dir))
    state = store.state()
    settings = load_settings(Path(state_dir))
    log = store.deliveries()
    open_ = sorted(state["open"].values(),
                   key=lambda a: (SEVERITY_ORDER.get(a.get("severity"), 9), a.get("opened", 0)))
    return {
        "configured": settings is not None,
        "enabled": bool(settings and settings.get("enabled", True)),
        "open": open_,
        "pending": len(state["pending"]),
        "past": list(reversed(state["past"]))[:past],
        "channels": [channel_view(c) for c in (settings or {}).get("channels") or []],
        "deliveries": list(reversed(log["log"]))[:deliveries],
        "retrying": len(log["queue"]),
    }
