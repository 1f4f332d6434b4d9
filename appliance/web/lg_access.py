"""Who may read the looking glass (/lg) and its birdwatcher API (/birdwatcher).

``services.looking_glass.public`` in the committed configuration decides:

- false (the default): only logged-in users (admin or viewer), as every other page; the
  birdwatcher API also takes API tokens and clients of services.looking_glass.allowed_networks
  (an Alice-LG server: web/birdwatcher.py ``gate``);
- true: anyone who reaches the web UI may read them without an account. Both areas are
  read-only (GET only) and show what a looking glass shows: sessions with member name, AS
  number and peering-LAN address (all public anyway in /participants.json), route counts,
  and routes with their attributes and reject reasons. Nothing of the configuration beyond
  that: no MD5 passwords, no e-mail addresses, no admin navigation.

Anonymous readers are limited so that a public page cannot be used to keep the route
server's control socket busy: a request count per client (an IPv4 address, or an IPv6 /64,
which one host usually holds whole), queries of one address or of a prefix no shorter than
/16 (IPv4) or /32 (IPv6), and answers cached for a few seconds. Logged-in users are not
limited. Nobody but an admin sees why BIRD did not answer (the text names files on the box);
the web service's log has it.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from flask import Response, current_app, g, jsonify, make_response, render_template, request

from appliance.config.committed import committed_config
from appliance.web.throttle import FailureThrottle

ANONYMOUS_PER_MINUTE = 120  # per client address; a page view is 1, Alice-LG polls a few
# The shortest prefix an anonymous reader may search: a shorter one lists a large part of
# the table (::/0 every filtered route).
ANONYMOUS_MIN_LENGTH = {4: 16, 6: 32}
CACHE_SECONDS = 30  # how long an anonymous reader may be shown an answer already given
CACHE_ENTRIES = 256
T = TypeVar("T")


class QueryRefused(ValueError):
    """A looking-glass query that is not an address or prefix, or too wide for this reader."""


def client_key(addr: str | None) -> str:
    """The key a client is counted under: its IPv4 address, or its IPv6 address's /64."""
    try:
        ip = ipaddress.ip_address(addr or "")
    except ValueError:
        return f"lg:{addr}"
    if ip.version == 6 and ip.ipv4_mapped is not None:  # type: ignore[union-attr]
        ip = ip.ipv4_mapped  # type: ignore[union-attr]
    if ip.version == 6:
        return f"lg:{ipaddress.ip_network(f'{ip}/64', strict=False)}"
    return f"lg:{ip}"


def check_query(query: str, *, anonymous: bool) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """The network ``query`` names; ``QueryRefused`` (with what to do) when it is not one, or
    when an anonymous reader asks for a prefix shorter than ``ANONYMOUS_MIN_LENGTH``."""
    try:
        net = ipaddress.ip_network(query.strip(), strict=False)
    except ValueError:
        raise QueryRefused(f"'{query}' is not an IP prefix or address; write it like "
                           "192.0.2.0/24, 192.0.2.1 or 2001:db8::/32") from None
    shortest = ANONYMOUS_MIN_LENGTH[net.version]
    if anonymous and net.prefixlen < shortest:
        raise QueryRefused(f"'{query}' is too wide to search without logging in: ask for one "
                           f"address or a prefix of /{shortest} or longer")
    return net


class AnswerCache:
    """A small cache of looking-glass answers, each kept ``seconds`` (the clock is
    injectable so tests need not wait)."""

    def __init__(self, seconds: float = CACHE_SECONDS, entries: int = CACHE_ENTRIES,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds, self.entries, self.clock = seconds, entries, clock
        self._data: OrderedDict[tuple[Any, ...], tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
        """The answer for ``key``: a fresh one from the cache, else ``compute()`` (stored;
        an exception is not)."""
        now = self.clock()
        with self._lock:
            hit = self._data.get(key)
            if hit is not None and now - hit[0] < self.seconds:
                return hit[1]
        value = compute()  # outside the lock: BIRD may take its time
        with self._lock:
            self._data[key] = (now, value)
            self._data.move_to_end(key)
            while len(self._data) > self.entries:
                self._data.popitem(last=False)
        return value


def cached(key: tuple[Any, ...], compute: Callable[[], T]) -> T:
    """``compute()``'s answer, shared among anonymous readers for a few seconds; logged-in
    users always get a fresh one."""
    if g.get("user") is not None:
        return compute()
    cache = current_app.extensions.get("lg_answer_cache")
    if cache is None:
        cache = current_app.extensions["lg_answer_cache"] = AnswerCache(
            seconds=float(current_app.config.get("LG_CACHE_SECONDS", CACHE_SECONDS)))
    return cache.get(key, compute)


def unavailable_message(exc: Exception) -> str:
    """What to show when BIRD did not answer: the details (socket paths, commands) to admins
    only; everyone else gets the plain fact, and the log keeps the details."""
    current_app.logger.warning("looking glass: the route server did not answer: %s", exc)
    if g.get("role") == "admin":
        return f"the route server does not answer: {exc}"
    return "the route server does not answer; try again in a minute"


def json_error(status: int, message: str) -> Response:
    """An error of the birdwatcher API, in birdwatcher's shape: ``{"error": message}``.

    Alice-LG reads a whole answer (status, protocols) as "bird error: <message>". Routes it
    reads as a stream, looking only at "api", "ttl" and "routes", so the bare shape would
    show the member with no routes, silently, and cache that. The message is therefore the
    "ttl" too: Alice cannot read it as a time, and reports the error, message included.
    """
    resp = jsonify({"error": message, "ttl": message})
    resp.status_code = status
    return resp


def client_in(networks: list[Any]) -> bool:
    """Whether this request's client address is in one of ``networks`` (an IPv4 client
    reaching an IPv6 socket counts by its IPv4 address)."""
    try:
        client = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    if client.version == 6 and client.ipv4_mapped is not None:  # type: ignore[union-attr]
        client = client.ipv4_mapped  # type: ignore[union-attr]
    return any(client in net for net in networks)


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
    key = client_key(request.remote_addr)
    wait = limiter.retry_after(key)
    if wait:
        message = f"Too many requests; try again in {wait} seconds."
        body = json_error(429, message) if as_json else render_template(
            "lg_index.html", rs=None, query="", results=None, error=message)
        resp = make_response(body, 429)
        resp.headers["Retry-After"] = str(wait)
        return resp
    limiter.failed(key)
    return None
