"""Status page and JSON: the committed configuration, its members and the lab's sessions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, jsonify, render_template

from appliance import __version__
from appliance.config.errors import ConfigError
from appliance.config.loader import load_config_text
from appliance.config.revisions import RevisionStore
from appliance.lab.lab import lab_status

bp = Blueprint("status", __name__)


def collect(state_dir: Path) -> dict[str, Any]:
    """Everything the status page shows, as plain data (also served as JSON)."""
    store = RevisionStore(state_dir)
    revisions = store.list()
    latest = revisions[-1] if revisions else None
    data: dict[str, Any] = {
        "version": __version__,
        "revision": latest.summary() if latest else None,
        "history": [r.summary() for r in reversed(revisions[-10:])],
        "ixp": None,
        "members": [],
        "lab": lab_status(state_dir),
        "problems": list(store.problems),
    }
    if latest is None:
        return data
    try:
        cfg = load_config_text(latest.config)
    except ConfigError as exc:
        data["problems"].append(f"committed revision does not validate: {exc}")
        return data
    data["ixp"] = {
        "name": cfg.identity.name, "short_name": cfg.identity.short_name,
        "country": cfg.identity.country, "lab": cfg.lab,
        "peering_lan": {"ipv4": str(cfg.peering_lan.ipv4_prefix),
                        "ipv6": str(cfg.peering_lan.ipv6_prefix or "")},
        "route_server": {"asn": cfg.route_server.asn,
                         "ipv4": str(cfg.route_server.ipv4 or ""),
                         "ipv6": str(cfg.route_server.ipv6 or "")},
    }
    sessions = {m["asn"]: m for m in (data["lab"] or {}).get("members", [])}
    for m in cfg.members:
        lab_m = sessions.get(m.asn, {})
        data["members"].append({
            "asn": m.asn, "name": m.name, "port": m.ports[0].interface,
            "ipv4": [str(a) for a in m.ipv4], "ipv6": [str(a) for a in m.ipv6],
            "route_server": m.route_server,
            "router_running": lab_m.get("router_running"),
            "sessions": lab_m.get("sessions", {}),
        })
    return data


@bp.get("/")
def index() -> str:
    """The status page."""
    return render_template("status.html", s=collect(current_app.config["STATE_DIR"]))


@bp.get("/healthz")
def healthz():  # noqa: ANN201 (Flask response)
    """Liveness for the runner and systemd."""
    return jsonify({"ok": True, "version": __version__})
