"""Login under pressure (issue 16): bounded password checks, attempts counted before the check,
throttling per source and per source + user, never per user alone.

The concurrency tests hold password checks inside a wrapped hasher until the test lets them go,
so what they show does not depend on timing: while the bound is reached, every further login
must already have been answered.
"""

from __future__ import annotations

import http.client
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from werkzeug.serving import make_server

from appliance.web import accounts, auth, create_app
from appliance.web import setup as setup_bp

from .conftest import ADMIN, PASSWORD, csrf

SAFETY = 60  # seconds; only so that a broken server cannot hang the suite


def _clear_throttles() -> None:
    for t in (setup_bp.throttle, auth.throttle, auth.source_throttle):
        t.clear()


@pytest.fixture(autouse=True)
def _fresh_throttles():
    _clear_throttles()
    yield
    _clear_throttles()


class HeldHasher:
    """Stands in for the argon2 hasher: counts checks running at once and holds each one until
    ``release`` is set, then answers as the real hasher would."""

    def __init__(self, real) -> None:
        self.real = real
        self.cond = threading.Condition()
        self.inside = self.most = self.calls = 0
        self.release = threading.Event()

    def verify(self, hashed: str, password: str) -> bool:
        with self.cond:
            self.inside += 1
            self.calls += 1
            self.most = max(self.most, self.inside)
            self.cond.notify_all()
        try:
            assert self.release.wait(SAFETY), "the test never released the password check"
            return self.real.verify(hashed, password)
        finally:
            with self.cond:
                self.inside -= 1
                self.cond.notify_all()

    def hash(self, password: str) -> str:
        return self.real.hash(password)


@contextmanager
def serving(app) -> Iterator[int]:
    """The app on a threaded werkzeug server on 127.0.0.1 (as the runner serves it)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(SAFETY)


def _post_login(port: int, name: str, password: str, source: str) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=SAFETY)
    try:
        body = urllib.parse.urlencode({"name": name, "password": password})
        conn.request("POST", "/login", body=body, headers={
            "Content-Type": "application/x-www-form-urlencoded", "X-Test-Source": source})
        resp = conn.getresponse()
        return resp.status, resp.read().decode()
    finally:
        conn.close()


class _SourceFromHeader:
    """Lets each test request claim its own client address (all of them are on loopback)."""

    def __init__(self, app) -> None:
        self.app = app

    def __call__(self, environ, start_response):
        environ["REMOTE_ADDR"] = environ.get("HTTP_X_TEST_SOURCE", environ["REMOTE_ADDR"])
        return self.app(environ, start_response)


def _app(configured):
    app = create_app(configured, {"WTF_CSRF_ENABLED": False})
    app.wsgi_app = _SourceFromHeader(app.wsgi_app)
    return app


def _burst(port: int, n: int, name_of, source_of, results: list,
           cond: threading.Condition) -> list[threading.Thread]:
    """``n`` wrong logins at once, each in its thread; every answer goes to ``results`` and
    wakes whoever waits on ``cond``."""
    def one(i: int) -> None:
        answer = _post_login(port, name_of(i), "wrong password", source_of(i))
        with cond:
            results.append(answer)
            cond.notify_all()

    threads = []
    for i in range(n):
        t = threading.Thread(target=one, args=(i,))
        t.start()
        threads.append(t)
    return threads


def test_a_burst_beyond_the_password_check_bound_is_refused_at_once(configured, monkeypatch):
    hasher = HeldHasher(accounts._HASHER)
    monkeypatch.setattr(accounts, "_HASHER", hasher)
    bound = accounts.MAX_PASSWORD_CHECKS
    extra = 6
    held: list = []
    refused: list = []
    with serving(_app(configured)) as port:
        holders = _burst(port, bound, lambda i: f"nobody{i}", lambda i: f"192.0.2.{i + 1}",
                         held, hasher.cond)
        with hasher.cond:
            assert hasher.cond.wait_for(lambda: hasher.inside == bound, SAFETY)
        # every password check slot is taken: further logins must be answered while those
        # still run, without a check of their own
        burst = _burst(port, extra, lambda i: ADMIN, lambda i: f"198.51.100.{i + 1}", refused,
                       hasher.cond)
        with hasher.cond:
            hasher.cond.wait_for(lambda: len(refused) + hasher.inside - bound >= extra, SAFETY)
        answered_while_held = len(refused)
        hasher.release.set()
        for t in holders + burst:
            t.join(SAFETY)
    assert hasher.most == bound, f"{hasher.most} password checks ran at once (bound {bound})"
    assert answered_while_held == extra
    assert [status for status, _ in refused] == [429] * extra
    assert all("checking other logins" in body for _, body in refused)
    assert sorted(status for status, _ in held) == [401] * bound


def test_concurrent_attempts_are_counted_before_the_password_is_checked(configured,
                                                                        monkeypatch):
    # With more check slots than the throttle allows attempts, the throttle alone must stop a
    # concurrent burst: attempts are counted before the password is checked, not after.
    hasher = HeldHasher(accounts._HASHER)
    monkeypatch.setattr(accounts, "_HASHER", hasher)
    monkeypatch.setattr(accounts, "_CHECK_SLOTS", threading.BoundedSemaphore(20))
    limit = auth.throttle.limit
    burst_size = limit + 7
    results: list = []
    with serving(_app(configured)) as port:
        threads = _burst(port, burst_size, lambda i: ADMIN, lambda i: "203.0.113.9", results,
                         hasher.cond)
        with hasher.cond:
            hasher.cond.wait_for(lambda: len(results) + hasher.inside >= burst_size, SAFETY)
        checks_started = hasher.calls
        hasher.release.set()
        for t in threads:
            t.join(SAFETY)
    assert checks_started == limit, f"{checks_started} checks for {limit} allowed attempts"
    statuses = sorted(status for status, _ in results)
    assert statuses == [401] * limit + [429] * (burst_size - limit)


def _login(c, name: str, password: str, source: str):
    token = csrf(c.get("/login", environ_base={"REMOTE_ADDR": source}).data)
    return c.post("/login", data={"name": name, "password": password, "csrf_token": token},
                  environ_base={"REMOTE_ADDR": source})


def test_failures_from_one_address_do_not_lock_the_user_out_elsewhere(configured):
    c = create_app(configured).test_client()
    for _ in range(auth.throttle.limit):
        assert _login(c, ADMIN, "guess", "192.0.2.66").status_code == 401
    blocked = _login(c, ADMIN, PASSWORD, "192.0.2.66")
    assert blocked.status_code == 429 and b"Too many failed attempts" in blocked.data
    assert int(blocked.headers["Retry-After"]) > 0
    fresh = create_app(configured).test_client()
    ok = _login(fresh, ADMIN, PASSWORD, "192.0.2.10")
    assert ok.status_code == 302, "a stranger's guesses must not lock the admin out"


def test_one_address_guessing_many_names_is_throttled(configured):
    c = create_app(configured).test_client()
    for i in range(auth.SOURCE_LIMIT):
        assert _login(c, f"user{i}", "guess", "192.0.2.77").status_code == 401
    blocked = _login(c, "someone-else", "guess", "192.0.2.77")
    assert blocked.status_code == 429 and b"Too many failed attempts" in blocked.data
    # another address is not affected
    assert _login(c, ADMIN, PASSWORD, "192.0.2.78").status_code == 302


def test_a_successful_login_does_not_use_up_the_allowance(configured):
    # the attempt is counted before the check and given back when the password was right, so
    # many people logging in from one address (an office, the dev runner) are never throttled
    c = create_app(configured).test_client()
    for _ in range(auth.SOURCE_LIMIT + 2):
        assert _login(c, ADMIN, PASSWORD, "192.0.2.5").status_code == 302
