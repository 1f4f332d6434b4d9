"""The looking glass: each member's routes, accepted and filtered (with the reason in words),
and the route server's view of any prefix or address."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from flask import Blueprint, abort, current_app, render_template, request

from appliance.bird.control import BirdError, BirdUnavailable
from appliance.config.committed import committed_config
from appliance.monitor.looking_glass import LookingGlass
from appliance.monitor.services import route_server_sessions

bp = Blueprint("lg", __name__, url_prefix="/lg")


def _glass() -> LookingGlass:
    cfg = committed_config(current_app.config["STATE_DIR"])
    if cfg is None:
        abort(404)
    return LookingGlass(current_app.config["STATE_DIR"], cfg.route_server.asn)


@bp.get("")
def index() -> str:
    """Sessions, each linking to its routes, and the prefix search."""
    state: Path = current_app.config["STATE_DIR"]
    cfg = committed_config(state)
    rs = route_server_sessions(state, cfg) if cfg else {"running": False, "sessions": []}
    return render_template("lg_index.html", rs=rs, query="", results=None, error=None)


@bp.get("/search")
def search() -> str | tuple[str, int]:
    """Routes for a prefix or an address."""
    query = request.args.get("q", "").strip()
    try:
        ipaddress.ip_network(query, strict=False)
    except ValueError:
        return render_template("lg_index.html", rs=None, query=query, results=None,
                               error=f"'{query}' is not an IP prefix or address"), 400
    try:
        results = _glass().lookup(query)
    except (BirdUnavailable, BirdError, OSError) as exc:
        return render_template("lg_index.html", rs=None, query=query, results=None,
                               error=f"the route server does not answer: {exc}"), 503
    return render_template("lg_index.html", rs=None, query=query, results=results, error=None)


@bp.get("/session/<name>")
def session(name: str) -> str | tuple[str, int]:
    """One member session's accepted and filtered routes."""
    glass = _glass()
    try:
        proto = glass.session(name)
        if proto is None:
            abort(404)
        accepted = glass.routes_of(proto, filtered=False)
        filtered = glass.routes_of(proto, filtered=True)
    except (BirdUnavailable, BirdError, OSError) as exc:
        return render_template("lg_index.html", rs=None, query="", results=None,
                               error=f"the route server does not answer: {exc}"), 503
    return render_template("lg_session.html", proto=proto, accepted=accepted,
                           filtered=filtered)
