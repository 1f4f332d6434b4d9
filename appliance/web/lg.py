"""The looking glass: each member's routes, accepted and filtered (with the reason in words),
and the route server's view of any prefix or address."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, current_app, g, render_template, request
from markupsafe import Markup

from appliance.config.committed import committed_config
from appliance.config.model import IXPConfig
from appliance.monitor.looking_glass import LookingGlass
from appliance.monitor.store import SampleStore, samples_path
from appliance.platform.bird.control import BirdError, BirdUnavailable
from appliance.route_server.status import route_server_sessions
from appliance.web.graphs import RANGES, prefix_chart
from appliance.web.lg_access import (
    QueryRefused,
    cached,
    check_query,
    limit_anonymous,
    unavailable_message,
)

bp = Blueprint("lg", __name__, url_prefix="/lg")


@bp.before_request
def _limit() -> Response | None:
    # Runs after the app's gate: only anonymous readers of a public looking glass count.
    return limit_anonymous(as_json=False)


def _glass() -> LookingGlass:
    cfg = committed_config(current_app.config["STATE_DIR"])
    if cfg is None:
        abort(404)
    return glass_of(current_app.config["STATE_DIR"], cfg)


def glass_of(state: Path, cfg: IXPConfig) -> LookingGlass:
    """The looking glass of the committed configuration's route server."""
    policy = cfg.route_server.policy
    return LookingGlass(state, cfg.route_server.asn,
                        min_lengths=(policy.ipv4_min_length, policy.ipv6_min_length))


@bp.get("")
def index() -> str:
    """Sessions, each linking to its routes, and the prefix search."""
    state: Path = current_app.config["STATE_DIR"]
    cfg = committed_config(state)
    rs = cached(("index",), lambda: route_server_sessions(state, cfg)) if cfg \
        else {"running": False, "sessions": []}
    return render_template("lg_index.html", rs=rs, query="", results=None, error=None)


@bp.get("/search")
def search() -> str | tuple[str, int]:
    """Routes for a prefix or an address."""
    query = request.args.get("q", "").strip()
    try:
        net = check_query(query, anonymous=g.get("user") is None)
    except QueryRefused as exc:
        return render_template("lg_index.html", rs=None, query=query, results=None,
                               error=str(exc)), 400
    glass = _glass()
    try:
        results = cached(("lookup", str(net)), lambda: glass.lookup(str(net)))
    except (BirdUnavailable, BirdError, OSError) as exc:
        return render_template("lg_index.html", rs=None, query=query, results=None,
                               error=unavailable_message(exc)), 503
    return render_template("lg_index.html", rs=None, query=query, results=results, error=None)


@bp.get("/session/<name>")
def session(name: str) -> str | tuple[str, int]:
    """One member session's accepted and filtered routes."""
    glass = _glass()

    def read() -> tuple[Any, list[dict[str, Any]], list[dict[str, Any]]] | None:
        proto = glass.session(name)
        if proto is None:
            return None
        return (proto, glass.routes_of(proto, filtered=False),
                glass.routes_of(proto, filtered=True))

    try:
        found = cached(("session", name), read)
    except (BirdUnavailable, BirdError, OSError) as exc:
        return render_template("lg_index.html", rs=None, query="", results=None,
                               error=unavailable_message(exc)), 503
    if found is None:
        abort(404)
    proto, accepted, filtered = found
    return render_template("lg_session.html", proto=proto, accepted=accepted,
                           filtered=filtered, chart=_prefix_chart(name))


def _prefix_chart(name: str) -> Markup | None:
    """The session's prefix counts over the last two days, when the collector has any."""
    path = samples_path(current_app.config["STATE_DIR"])
    if not path.exists():
        return None
    store = SampleStore(path)
    info = next((s for s in store.sessions() if s.session == name), None)
    if info is None:
        return None
    now = int(time.time())
    return prefix_chart(store, info, now - RANGES["2d"], now, with_member=False)
