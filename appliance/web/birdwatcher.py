"""A birdwatcher-compatible JSON API (read-only), so an IXP that later runs Alice-LG can point
it at the box. Served under /birdwatcher/ in birdwatcher's shapes (protocols keyed by name).

Like the looking-glass pages it needs a login unless services.looking_glass.public is true
(web/lg_access.py); Alice-LG cannot log in, so an exchange that uses it makes the glass public.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, Response, abort, current_app, g, jsonify, request

from appliance import __version__
from appliance.bird.control import BirdControl, BirdError, BirdUnavailable, route_server_socket
from appliance.bird.replies import Protocol
from appliance.config.committed import committed_config
from appliance.monitor.looking_glass import LookingGlass
from appliance.web.lg import glass_of
from appliance.web.lg_access import (
    QueryRefused,
    cached,
    check_query,
    limit_anonymous,
    unavailable_message,
)

bp = Blueprint("birdwatcher", __name__, url_prefix="/birdwatcher")
TTL = timedelta(minutes=5)


@bp.before_request
def _limit() -> Response | None:
    # Runs after the app's gate: only anonymous readers of a public looking glass count.
    return limit_anonymous(as_json=True)


def _envelope(**payload: Any) -> Response:
    now = datetime.now(UTC)
    return jsonify({
        "api": {"Version": f"ixp-appliance {__version__}", "result_from_cache": False,
                "cache_status": {"cached_at": {"date": now.isoformat(), "timezone_type": 3,
                                               "timezone": "UTC"}}},
        "cached_at": now.isoformat(), "ttl": (now + TTL).isoformat(), **payload})


def _glass() -> LookingGlass:
    cfg = committed_config(current_app.config["STATE_DIR"])
    if cfg is None:
        abort(404)
    return glass_of(current_app.config["STATE_DIR"], cfg)


def _route(r: dict[str, Any]) -> dict[str, Any]:
    return {"network": r["prefix"], "gateway": r["next_hop"], "interface": "",
            "metric": 100, "from_protocol": r["protocol"], "age": "", "type": ["BGP", "univ"],
            "primary": r["best"],
            "bgp": {"as_path": [str(a) for a in r["as_path"]], "communities": r["communities"],
                    "large_communities": r["large_communities"], "ext_communities": [],
                    "local_pref": str(r["local_pref"] or ""), "med": str(r["med"] or ""),
                    "origin": r["origin"], "next_hop": r["next_hop"]}}


def _protocol(p: Protocol) -> dict[str, Any]:
    return {"protocol": p.name, "bird_protocol": "BGP", "table": p.table,
            "state": p.state, "state_changed": p.since, "connection": p.info.split()[0]
            if p.info else "", "description": p.details.get("Description", ""),
            "neighbor_address": p.details.get("Neighbor address", ""),
            "neighbor_as": int(p.details.get("Neighbor AS", "0") or 0),
            "routes": {"imported": p.routes("imported"), "filtered": p.routes("filtered"),
                       "exported": p.routes("exported"), "preferred": p.routes("preferred")}}


@bp.errorhandler(BirdUnavailable)
@bp.errorhandler(BirdError)
def _unavailable(exc: Exception) -> tuple[Response, int]:
    return jsonify({"error": unavailable_message(exc)}), 503


@bp.get("/status")
def status() -> Response:
    """BIRD's status."""
    def read() -> Any:
        with BirdControl(route_server_socket(current_app.config["STATE_DIR"])) as bc:
            return bc.status()

    s = cached(("status",), read)
    return _envelope(status={"current_server": s.server_time, "last_reboot": s.last_reboot,
                             "last_reconfig": s.last_reconfiguration,
                             "version": s.version, "message": s.message,
                             "router_id": s.router_id})


@bp.get("/protocols/bgp")
def protocols_bgp() -> Response:
    """Every BGP session, keyed by protocol name."""
    glass = _glass()
    return _envelope(protocols={p.name: _protocol(p)
                                for p in cached(("sessions",), glass.sessions)})


def _session_routes(name: str, *, filtered: bool) -> Response:
    glass = _glass()

    def read() -> list[dict[str, Any]] | None:
        proto = glass.session(name)
        return None if proto is None else glass.routes_of(proto, filtered=filtered)

    routes = cached(("routes", name, filtered), read)
    if routes is None:
        abort(404)
    return _envelope(routes=[_route(r) for r in routes])


@bp.get("/routes/protocol/<name>")
def routes_protocol(name: str) -> Response:
    """Routes accepted from a session."""
    return _session_routes(name, filtered=False)


@bp.get("/routes/filtered/<name>")
def routes_filtered(name: str) -> Response:
    """Routes filtered from a session (their reject reasons are in the large communities)."""
    return _session_routes(name, filtered=True)


@bp.get("/routes/prefix")
def routes_prefix() -> Response | tuple[Response, int]:
    """Routes for ?prefix= across the route server."""
    query = request.args.get("prefix", "")
    try:
        net = check_query(query, anonymous=g.get("user") is None)
    except QueryRefused as exc:
        return jsonify({"error": str(exc)}), 400
    glass = _glass()
    routes = cached(("lookup", str(net)), lambda: glass.lookup(str(net)))
    return _envelope(routes=[_route(r) for r in routes])
