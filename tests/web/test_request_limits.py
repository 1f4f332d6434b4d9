"""Bounded state and request sizes (issue 16 item 3): the throttle's table, user names in its
keys, request bodies, and the nesting of JSON bodies."""

from __future__ import annotations

import json

import pytest

from appliance.web import auth, create_app, limits
from appliance.web import setup as setup_bp
from appliance.web.api import tokens
from appliance.web.throttle import FailureThrottle

from .conftest import ADMIN, csrf


@pytest.fixture(autouse=True)
def _fresh_throttles():
    for t in (setup_bp.throttle, auth.throttle, auth.source_throttle):
        t.clear()
    yield
    for t in (setup_bp.throttle, auth.throttle, auth.source_throttle):
        t.clear()


def test_looking_a_key_up_creates_no_entry():
    t = FailureThrottle(limit=2, window=60)
    assert t.retry_after("ip:192.0.2.1", "user:x") == 0
    assert len(t) == 0


def test_the_table_is_bounded():
    t = FailureThrottle(limit=2, window=60, max_keys=50)
    for i in range(1000):
        t.failed(f"ip:192.0.2.{i}")
    assert len(t) == 50
    # the newest keys are kept: a key just failed twice is still refused
    t.failed("ip:198.51.100.1")
    t.failed("ip:198.51.100.1")
    assert t.retry_after("ip:198.51.100.1") > 0


def test_aged_out_keys_are_dropped(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr("appliance.web.throttle.time.monotonic", lambda: now[0])
    t = FailureThrottle(limit=2, window=60, max_keys=10)
    for i in range(10):
        t.failed(f"k{i}")
    now[0] += 61
    t.failed("new")
    assert len(t) == 1, "a full table drops every aged-out key first"
    t.failed("k0")
    now[0] += 61
    assert t.retry_after("k0") == 0 and len(t) == 1  # looking at an aged key drops it


def _login_page(c):
    return csrf(c.get("/login").data)


def test_a_huge_login_is_refused_before_anything_is_kept(configured):
    c = create_app(configured).test_client()
    token = _login_page(c)
    resp = c.post("/login", data={"name": "x" * 4_000_000, "password": "p", "csrf_token": token})
    assert resp.status_code == 413
    assert b"larger than 16 KiB" in resp.data and b"Too much sent at once" in resp.data
    assert len(auth.throttle) == 0 and len(auth.source_throttle) == 0


def test_long_user_names_are_not_kept_in_the_throttle(configured):
    c = create_app(configured).test_client()
    token = _login_page(c)
    resp = c.post("/login", data={"name": "n" * 10_000, "password": "p", "csrf_token": token})
    assert resp.status_code == 401 and b"Wrong user name or password" in resp.data
    keys = [*auth.throttle._failures, *auth.source_throttle._failures]
    assert keys and all(len(k) < 100 for k in keys), keys
    # the page shows back no more of the name than any account can have
    assert b"n" * (auth.MAX_NAME + 1) not in resp.data


def _api(configured):
    secret = tokens.create(configured, "test", ADMIN)
    return create_app(configured).test_client(), {"Authorization": f"Bearer {secret}"}


@pytest.mark.parametrize("depth", [limits.MAX_JSON_DEPTH + 1, 5000, 200_000])
def test_deeply_nested_json_is_a_400_that_says_so(configured, depth):
    c, h = _api(configured)
    body = "[" * depth + "]" * depth
    for method, path in (("PUT", "/api/v1/config"), ("POST", "/api/v1/config/validate"),
                         ("POST", "/api/v1/members")):
        resp = c.open(path, method=method, data=body, headers=h,
                      content_type="application/json")
        assert resp.status_code == 400, (method, path, resp.data[:200])
        assert f"more than {limits.MAX_JSON_DEPTH} levels" in resp.get_json()["error"]


def test_json_as_deep_as_allowed_is_still_read(configured):
    c, h = _api(configured)
    depth = limits.MAX_JSON_DEPTH
    resp = c.post("/api/v1/config/validate", data="[" * depth + "]" * depth, headers=h,
                  content_type="application/json")
    assert resp.status_code == 422 and resp.get_json()["valid"] is False


def test_an_api_body_over_the_limit_is_a_413(configured, monkeypatch):
    monkeypatch.setattr(limits, "MAX_API_BODY", 4096)
    c, h = _api(configured)
    body = json.dumps({"identity": {"name": "x" * 5000}})
    resp = c.post("/api/v1/config/validate", data=body, headers=h,
                  content_type="application/json")
    assert resp.status_code == 413 and "larger than 4 KiB" in resp.get_json()["error"]


def test_forms_and_uploads_have_their_own_limits():
    assert limits.limit_for("auth.login") == limits.limit_for("setup.code") \
        == limits.MAX_LOGIN_BODY
    assert limits.limit_for("members.edit") == limits.MAX_FORM_BODY
    assert limits.limit_for("members.irr_import") == limits.limit_for("wizard.irr_import") \
        == limits.MAX_UPLOAD
