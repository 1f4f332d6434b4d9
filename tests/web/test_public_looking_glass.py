"""services.looking_glass.public: the looking glass and its birdwatcher API open to anyone
(read-only, nothing of the configuration), everything else still behind the login."""

from __future__ import annotations

import time

import pytest
import yaml

from appliance.box import build_pipeline
from appliance.monitor.store import SampleStore, SessionCounts, samples_path
from appliance.web import create_app
from appliance.web.accounts import hash_password

from .conftest import ADMIN, PASSWORD, csrf

SECRET = "md5-secret-never-shown"
NOC = "noc-private@telecom.example.net"


def _config(example_text: str, *, public: bool) -> str:
    data = yaml.safe_load(example_text)
    data["admin_users"] = [{"name": ADMIN, "password_hash": hash_password(PASSWORD)}]
    data.setdefault("services", {})["looking_glass"] = {"public": public}
    data["members"][0]["md5_password"] = SECRET
    data["members"][0]["noc_email"] = NOC
    return yaml.safe_dump(data)


@pytest.fixture
def public_box(tmp_path, example_text):
    out = build_pipeline(tmp_path).run(_config(example_text, public=True), author="t")
    assert out.ok, out.error
    return tmp_path


def _log_in(client) -> None:
    page = client.get("/login")
    resp = client.post("/login", data={"name": ADMIN, "password": PASSWORD,
                                       "csrf_token": csrf(page.data)})
    assert resp.status_code == 302


# every area that must stay closed to anonymous visitors, public looking glass or not
CLOSED_PAGES = ["/", "/members", "/members/new", "/members/0/edit", "/users", "/history",
                "/history/diff?a=1&b=1", "/graphs", "/graphs?kind=prefixes",
                "/graphs/member/64496", "/changes/review", "/wizard/identity"]
CLOSED_API = ["/api/v1/status", "/api/v1/config", "/api/v1/members", "/api/v1/members/64496",
              "/api/v1/revisions", "/api/v1/revisions/1"]


def test_public_glass_is_open_and_shows_no_configuration(public_box):
    client = create_app(public_box).test_client()
    page = client.get("/lg")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Looking glass" in text and "Prefix or address" in text
    # no admin navigation, no logout form, nothing secret or private from the config
    for absent in ("Log out", 'href="/members"', 'href="/users"', 'href="/history"',
                   'href="/graphs"', SECRET, NOC, "csrf_token"):
        assert absent not in text, absent
    # a way around the glass and to the operators' login, nothing more
    assert 'href="/lg"' in text and 'href="/login"' in text
    # the same security headers as every other page
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["Cache-Control"] == "no-store"
    # a query is answered (here: refused as no prefix) instead of leading to the login
    assert client.get("/lg/search?q=nonsense").status_code == 400
    # no route server runs here: the API answers 503 itself, it is not refused (401)
    for path in ("/birdwatcher/status", "/birdwatcher/protocols/bgp",
                 "/birdwatcher/routes/prefix?prefix=192.0.2.0/24"):
        resp = client.get(path)
        assert resp.status_code == 503, path
        assert "does not answer" in resp.get_json()["error"]


def test_public_glass_is_read_only(public_box):
    client = create_app(public_box).test_client()
    for path in ("/lg", "/lg/search", "/birdwatcher/status"):
        assert client.post(path).status_code == 405, path
        assert client.delete(path).status_code == 405, path


def test_public_glass_opens_nothing_else(public_box):
    client = create_app(public_box).test_client()
    for path in CLOSED_PAGES:
        resp = client.get(path)
        assert resp.status_code == 302, path
        assert resp.headers["Location"].startswith("/login"), path
    for path in CLOSED_API:
        assert client.get(path).status_code == 401, path
    for path in ("/members/new", "/users", "/history/1/rollback", "/changes/apply"):
        resp = client.post(path, data={})
        assert resp.status_code in (302, 400), path  # login redirect or CSRF refusal
        if resp.status_code == 302:
            assert resp.headers["Location"].startswith("/login"), path
    assert client.put("/api/v1/config", data="x").status_code == 401


def test_private_glass_needs_login(configured):
    # the example config leaves services.looking_glass.public at its default (false)
    client = create_app(configured).test_client()
    for path in ("/lg", "/lg/search?q=192.0.2.1", "/lg/session/c64496_203_0_113_10"):
        resp = client.get(path)
        assert resp.status_code == 302, path
        assert resp.headers["Location"].startswith("/login?next=/lg"), path
    for path in ("/birdwatcher/status", "/birdwatcher/protocols/bgp",
                 "/birdwatcher/routes/filtered/c64496_203_0_113_10"):
        resp = client.get(path)
        assert resp.status_code == 401, path
        assert "not public" in resp.get_json()["error"]
    # logged in, both are there as before
    _log_in(client)
    assert client.get("/lg").status_code == 200
    assert client.get("/birdwatcher/status").status_code == 503  # no BIRD here, not 401


def test_the_flag_follows_the_committed_revision(tmp_path, example_text):
    assert build_pipeline(tmp_path).run(_config(example_text, public=False), author="t").ok
    client = create_app(tmp_path).test_client()
    assert client.get("/lg").status_code == 302
    assert build_pipeline(tmp_path).run(_config(example_text, public=True), author="t").ok
    assert client.get("/lg").status_code == 200
    assert client.get("/birdwatcher/status").status_code == 503
    assert build_pipeline(tmp_path).run(_config(example_text, public=False), author="t").ok
    assert client.get("/lg").status_code == 302
    assert client.get("/birdwatcher/status").status_code == 401


def test_logged_in_users_keep_their_navigation(public_box):
    client = create_app(public_box).test_client()
    _log_in(client)
    text = client.get("/lg").get_data(as_text=True)
    assert "Log out" in text and 'href="/members"' in text


def test_anonymous_readers_are_rate_limited(public_box):
    app = create_app(public_box, {"LG_ANONYMOUS_PER_MINUTE": 3})
    anon = app.test_client()
    assert [anon.get("/lg").status_code for _ in range(3)] == [200, 200, 200]
    page = anon.get("/lg")
    assert page.status_code == 429 and int(page.headers["Retry-After"]) > 0
    assert page.headers["X-Frame-Options"] == "DENY"
    api = anon.get("/birdwatcher/status")
    assert api.status_code == 429 and "Too many requests" in api.get_json()["error"]
    # another client address has its own allowance; logged-in users are not counted
    other = anon.get("/lg", environ_base={"REMOTE_ADDR": "192.0.2.77"})
    assert other.status_code == 200
    user = app.test_client()
    _log_in(user)
    assert all(user.get("/lg").status_code == 200 for _ in range(10))


def test_prefix_graphs_pages(public_box):
    store = SampleStore(samples_path(public_box))
    now = int(time.time())
    for k, accepted in enumerate((1, 1, 2)):
        store.add_prefix_counts(now - 180 + 60 * k, [
            SessionCounts("c64496_203_0_113_10", 64496, "ipv4", "203.0.113.10",
                          "Island Telecom", accepted + 1, accepted, 1, 4),
            SessionCounts("c64496_2001_db8_eeee__10", 64496, "ipv6", "2001:db8:eeee::10",
                          "Island Telecom", 1, 1, 0, 4)])
    client = create_app(public_box).test_client()
    _log_in(client)
    page = client.get("/graphs?kind=prefixes").get_data(as_text=True)
    assert page.count('class="chart prefixes"') == 2
    assert "AS64496 Island Telecom · IPv4 session 203.0.113.10" in page
    assert 'href="/graphs/member/64496?range=2h"' in page
    member = client.get("/graphs/member/64496?range=2d").get_data(as_text=True)
    assert member.count('class="chart prefixes"') == 2 and "accepted 2" in member
    assert "IPv6 session 2001:db8:eeee::10" in member
    # the dashboard links each member to its page
    assert 'href="/graphs/member/64496"' in client.get("/").get_data(as_text=True)
    assert client.get("/graphs?kind=nonsense").status_code == 404
    assert client.get("/graphs/member/64496?range=1y").status_code == 404
    assert client.get("/graphs/member/1").status_code == 404
