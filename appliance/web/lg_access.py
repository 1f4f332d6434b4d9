"""Who may read the looking glass (/lg) and its birdwatcher API (/birdwatcher).

``services.looking_glass.public`` in the committed configuration decides:

- false (the default): only logged-in users (admin or viewer), as every other page;
- true: anyone who reaches the web UI may read them without an account. Both areas are
  read-only (GET only) and show what a looking glass shows: sessions with member name, AS
  number and peering-LAN address (all public anyway in /participants.json), route counts,
  and routes with their attributes and reject reasons. Nothing of the configuration beyond
  that: no MD5 passwords, no e-mail addresses, no admin navigation.

Anonymous readers are limited per client address so that a public page cannot be used to keep
the route server's control socket busy; logged-in users are not limited.
"""

from __future__ import annotations

from pathlib import Path

from flask import Response, current_app, g, jsonify, make_response, render_template, request

from appliance.config.committed import committed_config
from appliance.web.throttle import FailureThrottle

ANONYMOUS_PER_MINUTE = 120  # per client address; a page view is 1, Alice-LG polls a few


def looking_glass_is_public(state_dir: Path) -> bool:
    """True when the committed configuration opens the looking glass to everyone."""
    cfg = committed_config(state_dir)
    return bool(cfg is not None and cfg.services.looking_glass.public)


def _limiter() -> FailureThrottle:
    # One limiter per app (not per process), so separate apps never share a count. One
    # "failure" per anonymous request: FailureThrottle is a sliding-window counter per key,
    # which is exactly a per-client request limit.
    limiter = current_app.extensions.get("lg_anonymous_limit")
    if limiter is None:
        limiter = FailureThrottle(
            limit=int(current_app.config.get("LG_ANONYMOUS_PER_MINUTE", ANONYMOUS_PER_MINUTE)),
            window=60)
        current_app.extensions["lg_anonymous_limit"] = limiter
    return limiter


def limit_anonymous(*, as_json: bool) -> Response | None:
    """Before-request hook of the looking-glass blueprints: count an anonymous request and
    refuse it (429) once the client has made too many in the last minute."""
    if g.get("user") is not None:
        return None
    limiter = _limiter()
    key = f"lg:{request.remote_addr}"
    wait = limiter.retry_after(key)
    if wait:
        message = f"Too many requests; try again in {wait} seconds."
        body = jsonify({"error": message}) if as_json else render_template(
            "lg_index.html", rs=None, query="", results=None, error=message)
        resp = make_response(body, 429)
        resp.headers["Retry-After"] = str(wait)
        return resp
    limiter.failed(key)
    return None
