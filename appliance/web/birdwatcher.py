"""A birdwatcher-compatible JSON API (read-only), so an IXP that later runs Alice-LG can point
it at the box. Served under /birdwatcher/ in birdwatcher's shapes and time formats, with every
endpoint Alice-LG's two birdwatcher source types call (its pkg/sources/birdwatcher):

- both: ``/status``, ``/protocols/bgp``, ``/protocols/short`` (neighbour status refresh);
- ``type = single_table``: ``/routes/protocol/<session>``, ``/routes/filtered/<session>``,
  ``/routes/noexport/<session>``, and for the global prefix search ``/routes/table/<main>``
  and ``/routes/table/<main>/filtered`` (main: ``master4``, ``master6``, or ``master``, both);
- ``type = multi_table``: ``/protocols`` (sessions and the pipes joining each member table
  to the main one), ``/routes/peer/<address>``, ``/routes/table/<table>/peer/<address>``,
  ``/routes/filtered/<session>``, ``/routes/pipe/filtered``, ``/routes/pipe/filtered/count``
  and ``/routes/noexport/<pipe>``;
- ``/routes/prefix?prefix=`` besides (birdwatcher's, not used by Alice).

Times are UTC, "2006-01-02 15:04:05" (Go's layout) for BIRD's times (protocol since, route
age, status) and RFC 3339 for the envelope (ttl, cached_at), so the Alice config in
docs/operations.md needs no time zone. Errors are JSON (lg_access.json_error), never a page.

Who may read it (``gate``): a logged-in user, an API token (``Authorization: Bearer``, or as
the password of HTTP basic auth, which is what Alice-LG can send: ``https://alice:TOKEN@box/
birdwatcher``), a client in ``services.looking_glass.allowed_networks``, or anyone when the
looking glass is public (then limited as anonymous readers are, web/lg_access.py).
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, current_app, g, jsonify, request

from appliance import __version__
from appliance.config.committed import committed_config
from appliance.monitor.looking_glass import LookingGlass
from appliance.platform.bird.control import (
    BirdControl,
    BirdError,
    BirdUnavailable,
    route_server_socket,
)
from appliance.platform.bird.replies import Protocol
from appliance.web import accounts, auth, roles
from appliance.web.api import tokens
from appliance.web.lg import glass_of
from appliance.web.lg_access import (
    QueryRefused,
    cached,
    check_query,
    client_in,
    json_error,
    limit_anonymous,
    unavailable_message,
)

bp = Blueprint("birdwatcher", __name__, url_prefix="/birdwatcher")
TTL = timedelta(minutes=5)
BIRD_TIME = "%Y-%m-%d %H:%M:%S"  # Alice's servertime_short / servertime_ext: 2006-01-02 15:04:05


def _presented_token() -> str | None:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header[7:].strip()
    basic = request.authorization
    if basic is not None and basic.type == "basic":
        return basic.password or ""  # the user name is the reader's to choose
    return None


def gate(state: Path) -> Response | None:
    """The app's access check for /birdwatcher (see the module docstring): None lets the
    request through, with ``g.user``/``g.role`` set for everyone but anonymous readers of a
    public glass; otherwise a 401 in birdwatcher's error shape."""
    if not accounts.accounts(state):
        return json_error(401, "the box is not set up yet")
    presented = _presented_token()
    if presented is not None:
        try:
            token = tokens.authenticate(state, presented)
        except tokens.TokenRefused as exc:
            return _refused(str(exc))
        account = next((a for a in accounts.committed_accounts(state)
                        if a.name == token.user), None)
        if account is None:
            return _refused(f"the token's user {token.user} no longer exists")
        return _as(account, state)
    account = auth.current_user()
    if account is not None:
        return _as(account, state)
    cfg = committed_config(state)
    if cfg is not None and client_in(cfg.services.looking_glass.allowed_networks):
        # a configured Alice-LG server: read as a user would, not limited as the anonymous
        g.user, g.role = f"{request.remote_addr} (allowed network)", "viewer"
        return None
    if cfg is not None and cfg.services.looking_glass.public:
        return None
    return _refused("log in first (the looking glass is not public): send an API token "
                    "('Authorization: Bearer <token>', or as the basic-auth password), or "
                    "list this client in services.looking_glass.allowed_networks")


def _as(account: accounts.Account, state: Path) -> Response | None:
    """Let ``account`` through, or refuse it (a member account: only a public glass)."""
    g.user, g.role, g.asn = account.name, account.role, account.asn
    refused = roles.refusal(g.role, g.asn, request.endpoint or "", request.view_args or {},
                            request.method, state)
    return json_error(403, roles.message(refused, g.asn)) if refused else None


def _refused(message: str) -> Response:
    resp = json_error(401, message)
    resp.headers["WWW-Authenticate"] = 'Bearer realm="birdwatcher"'
    return resp


@bp.before_request
def _limit() -> Response | None:
    # Runs after the app's gate: only anonymous readers of a public looking glass count.
    return limit_anonymous(as_json=True)


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def bird_time(text: str) -> str:
    """A time as BIRD prints it (local time; "2026-12-01 13:47:23.123", or a time of day
    alone under BIRD's default formats) in UTC as "2026-12-01 12:47:23"; "" when empty."""
    text = text.strip()
    for layout, width in ((BIRD_TIME, 19), ("%H:%M:%S", 8)):
        try:
            parsed = _time.strptime(text[:width], layout)
        except ValueError:
            continue
        if layout != BIRD_TIME:  # a time of day: today's (BIRD prints no date for it)
            today = _time.localtime()
            parsed = _time.struct_time((today.tm_year, today.tm_mon, today.tm_mday,
                                        parsed.tm_hour, parsed.tm_min, parsed.tm_sec,
                                        0, 0, -1))
        return datetime.fromtimestamp(_time.mktime(parsed), UTC).strftime(BIRD_TIME)
    return ""


def _envelope(**payload: Any) -> Response:
    now = datetime.now(UTC)
    return jsonify({
        "api": {"Version": f"ixp-appliance {__version__}", "result_from_cache": False,
                "cache_status": {"cached_at": {"date": _rfc3339(now), "timezone_type": "UTC",
                                               "timezone": "UTC"}}},
        "cached_at": _rfc3339(now), "ttl": _rfc3339(now + TTL), **payload})


def _glass() -> LookingGlass:
    cfg = committed_config(current_app.config["STATE_DIR"])
    if cfg is None:
        abort(404, "no configuration is committed yet")
    return glass_of(current_app.config["STATE_DIR"], cfg)


def _route(r: dict[str, Any]) -> dict[str, Any]:
    bgp = {"as_path": [str(a) for a in r["as_path"]], "communities": r["communities"],
           "large_communities": r["large_communities"], "ext_communities": [],
           "local_pref": str(r["local_pref"] if r["local_pref"] is not None else ""),
           "med": str(r["med"] if r["med"] is not None else ""),
           "origin": r["origin"], "next_hop": r["next_hop"]}
    if r["otc"]:
        bgp["otc"] = r["otc"]
    return {"network": r["prefix"], "gateway": r["gateway"] or r["next_hop"],
            "interface": r["interface"], "metric": 100, "from_protocol": r["protocol"],
            "age": bird_time(r["since"]), "learnt_from": r["source"],
            "type": r["type"] or ["BGP", "univ"], "primary": r["best"], "bgp": bgp}


def _counts(imported: int, filtered: int, exported: int, preferred: int) -> dict[str, int]:
    return {"imported": imported, "filtered": filtered, "exported": exported,
            "preferred": preferred}


def _protocol(p: Protocol) -> dict[str, Any]:
    # BIRD 2 shows "---" as the table of a protocol with channels; birdwatcher's readers
    # (Alice's multi_table) want the member table, which is the channel's.
    table = next((c.table for c in p.channels if c.table), p.table)
    out: dict[str, Any] = {
        "protocol": p.name, "bird_protocol": p.proto, "table": table, "state": p.state,
        "state_changed": bird_time(p.since), "connection": p.info.split()[0] if p.info else "",
        "routes": _counts(p.routes("imported"), p.routes("filtered"), p.routes("exported"),
                          p.routes("preferred")),
        "channels": {c.name: {"table": c.table, "routes_count": _counts(
            c.imported, c.filtered, c.exported, c.preferred)} for c in p.channels}}
    if p.proto == "BGP":
        out.update({
            "description": p.details.get("Description", ""),
            "neighbor_address": p.details.get("Neighbor address", ""),
            "neighbor_as": int(p.details.get("Neighbor AS", "0") or 0),
            "neighbor_id": p.details.get("Neighbor ID", ""),
            "bgp_state": p.details.get("BGP state", ""),
            "last_error": p.details.get("Last error", "")})
    elif p.proto == "Pipe":
        out["peer_table"] = next((c.peer_table for c in p.channels if c.peer_table), "")
    return out


@bp.errorhandler(BirdUnavailable)
@bp.errorhandler(BirdError)
def _unavailable(exc: Exception) -> Response:
    return json_error(503, unavailable_message(exc))


def _read(key: tuple[Any, ...], compute: Callable[[], Any], missing: str) -> Any:
    """``compute()``, cached for anonymous readers; 404 saying ``missing`` when it finds
    nothing of that name (None)."""
    found = cached(key, compute)
    if found is None:
        abort(404, missing)
    return found


@bp.get("/status")
def status() -> Response:
    """BIRD's status."""
    def read() -> Any:
        with BirdControl(route_server_socket(current_app.config["STATE_DIR"])) as bc:
            return bc.status()

    s = cached(("status",), read)
    return _envelope(status={"current_server": bird_time(s.server_time),
                             "last_reboot": bird_time(s.last_reboot),
                             "last_reconfig": bird_time(s.last_reconfiguration),
                             "version": s.version, "message": s.message,
                             "router_id": s.router_id})


@bp.get("/protocols")
def protocols() -> Response:
    """Every protocol keyed by name: the sessions and the pipes (multi_table reads both)."""
    glass = _glass()
    return _envelope(protocols={p.name: _protocol(p)
                                for p in cached(("protocols",), glass.protocols)})


@bp.get("/protocols/bgp")
def protocols_bgp() -> Response:
    """Every BGP session, keyed by protocol name."""
    glass = _glass()
    return _envelope(protocols={p.name: _protocol(p)
                                for p in cached(("sessions",), glass.sessions)})


@bp.get("/protocols/short")
def protocols_short() -> Response:
    """Every protocol's state, for Alice's neighbour status refresh (``?uncached=true``
    changes nothing: logged-in readers always get a fresh answer)."""
    glass = _glass()
    return _envelope(protocols={p.name: {"proto": p.proto, "table": _protocol(p)["table"],
                                         "state": p.state, "since": bird_time(p.since),
                                         "info": p.info}
                                for p in cached(("protocols",), glass.protocols)})


def _session_routes(name: str, *, filtered: bool) -> Response:
    glass = _glass()

    def read() -> list[dict[str, Any]] | None:
        proto = glass.session(name)
        return None if proto is None else glass.routes_of(proto, filtered=filtered)

    return _envelope(routes=[_route(r) for r in _read(("session", name, filtered), read,
                                                      f"no session {name!r}")])


@bp.get("/routes/protocol/<name>")
def routes_protocol(name: str) -> Response:
    """Routes accepted from a session."""
    return _session_routes(name, filtered=False)


@bp.get("/routes/filtered/<name>")
def routes_filtered(name: str) -> Response:
    """Routes filtered from a session (their reject reasons are in the large communities)."""
    return _session_routes(name, filtered=True)


@bp.get("/routes/noexport/<name>")
def routes_noexport(name: str) -> Response:
    """Routes not sent to a member: ``name`` is its session (single_table) or the pipe into
    its table (multi_table)."""
    glass = _glass()
    return _envelope(routes=[_route(r) for r in _read(
        ("noexport", name), lambda: glass.not_exported(name), f"no session or pipe {name!r}")])


@bp.get("/routes/peer/<address>")
def routes_peer(address: str) -> Response:
    """Routes accepted from the sessions with that neighbour address."""
    glass = _glass()
    return _envelope(routes=[_route(r) for r in _read(
        ("peer", address), lambda: glass.peer_routes(address),
        f"no session with neighbor address {address!r}")])


@bp.get("/routes/table/<table>")
def routes_table(table: str) -> Response:
    """Every route of a table; ``master4``/``master6``/``master`` for the global search."""
    glass = _glass()
    return _envelope(routes=[_route(r) for r in _read(
        ("table", table), lambda: glass.table_routes(table, filtered=False),
        f"no table {table!r}")])


@bp.get("/routes/table/<table>/filtered")
def routes_table_filtered(table: str) -> Response:
    """The filtered routes of a table; of a main table: every member's of that family."""
    glass = _glass()
    return _envelope(routes=[_route(r) for r in _read(
        ("table", table, "filtered"), lambda: glass.table_routes(table, filtered=True),
        f"no table {table!r}")])


@bp.get("/routes/table/<table>/peer/<address>")
def routes_table_peer(table: str, address: str) -> Response:
    """Routes from one neighbour address in one table."""
    glass = _glass()

    def read() -> list[dict[str, Any]] | None:
        known = {"master4", "master6"} | set(glass.session_tables())
        return glass.peer_routes(address, table) if table in known else None

    return _envelope(routes=[_route(r) for r in _read(
        ("table and peer", table, address), read,
        f"no table {table!r} or no session with neighbor address {address!r}")])


def _pipe_of(glass: LookingGlass) -> str:
    """The ?pipe= of the request when it joins the ?table= member table; else 404."""
    table, pipe = request.args.get("table", ""), request.args.get("pipe", "")
    found = cached(("protocols",), glass.protocols)
    if not any(p.name == pipe and p.proto == "Pipe" and any(c.peer_table == table
                                                            for c in p.channels)
               for p in found):
        abort(404, f"no pipe {pipe!r} into table {table!r}")
    return pipe


@bp.get("/routes/pipe/filtered")
def routes_pipe_filtered() -> Response:
    """Routes a member table's pipe kept from the main table: none, on this box. Its pipes
    import all (render/templates/bird/clients.j2): every filter runs on the session's
    import, and what it refused is in /routes/filtered/<session>."""
    _pipe_of(_glass())
    return _envelope(routes=[])


@bp.get("/routes/pipe/filtered/count")
def routes_pipe_filtered_count() -> Response:
    """How many routes from ?address= a pipe kept back: none (see routes_pipe_filtered)."""
    _pipe_of(_glass())
    return _envelope(routes=0)


@bp.get("/routes/prefix")
def routes_prefix() -> Response:
    """Routes for ?prefix= across the route server."""
    query = request.args.get("prefix", "")
    try:
        net = check_query(query, anonymous=g.get("user") is None)
    except QueryRefused as exc:
        return json_error(400, str(exc))
    glass = _glass()
    routes = cached(("lookup", str(net)), lambda: glass.lookup(str(net)))
    return _envelope(routes=[_route(r) for r in routes])
