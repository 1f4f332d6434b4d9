"""Issue 16 item 7 and part of 9: one anonymous looking-glass request stays small.

Query shapes are bounded for anonymous readers, IPv6 clients are counted per /64, answers are
cached for a few seconds, one lookup is two BIRD commands, and nobody but an admin reads the
internal text of a BIRD error.
"""

from __future__ import annotations

import pytest
import yaml

from appliance.box import build_pipeline
from appliance.monitor import looking_glass
from appliance.monitor.looking_glass import LookingGlass, search_root
from appliance.platform.bird.replies import BirdError, Route
from appliance.web import create_app
from appliance.web.accounts import hash_password
from appliance.web.lg_access import AnswerCache, QueryRefused, check_query, client_key

from .conftest import ADMIN, PASSWORD, csrf

VIEWER, VIEWER_PASSWORD = "vic", "viewer pass phrase 99"


@pytest.fixture
def public_box(tmp_path, example_text):
    data = yaml.safe_load(example_text)
    data["admin_users"] = [
        {"name": ADMIN, "password_hash": hash_password(PASSWORD)},
        {"name": VIEWER, "password_hash": hash_password(VIEWER_PASSWORD), "role": "viewer"}]
    data.setdefault("services", {})["looking_glass"] = {"public": True}
    assert build_pipeline(tmp_path).run(yaml.safe_dump(data), author="t").ok
    return tmp_path


def _log_in(client, name=ADMIN, password=PASSWORD):
    page = client.get("/login")
    resp = client.post("/login", data={"name": name, "password": password,
                                       "csrf_token": csrf(page.data)})
    assert resp.status_code == 302


@pytest.mark.parametrize("query", ["::/0", "0.0.0.0/0", "10.0.0.0/8", "2001:db8::/31",
                                   "192.168.0.0/15"])
def test_anonymous_wide_queries_are_refused(public_box, query):
    client = create_app(public_box).test_client()
    page = client.get("/lg/search", query_string={"q": query})
    assert page.status_code == 400
    assert "too wide to search without logging in" in page.get_data(as_text=True)
    api = client.get("/birdwatcher/routes/prefix", query_string={"prefix": query})
    assert api.status_code == 400 and "too wide" in api.get_json()["error"]


def test_narrow_queries_and_users_reach_the_route_server(public_box):
    client = create_app(public_box).test_client()
    for query in ("192.0.2.1", "2001:db8::1", "192.0.2.0/16", "2001:db8::/32"):
        # no BIRD runs here: 503 means the query was accepted and asked
        assert client.get("/lg/search", query_string={"q": query}).status_code == 503, query
    _log_in(client)
    assert client.get("/lg/search", query_string={"q": "10.0.0.0/8"}).status_code == 503


def test_check_query_says_what_to_do():
    with pytest.raises(QueryRefused, match="not an IP prefix or address; write it like"):
        check_query("example.com", anonymous=True)
    assert str(check_query("2001:db8::1", anonymous=True)) == "2001:db8::1/128"
    assert str(check_query("::/0", anonymous=False)) == "::/0"


def test_ipv6_clients_are_counted_per_64(public_box):
    app = create_app(public_box, {"LG_ANONYMOUS_PER_MINUTE": 2})
    c = app.test_client()

    def get(addr):
        return c.get("/lg", environ_base={"REMOTE_ADDR": addr}).status_code

    assert [get("2001:db8:1:2::1"), get("2001:db8:1:2::ffff:2")] == [200, 200]
    assert get("2001:db8:1:2:abcd::3") == 429  # same /64, new address: still counted
    assert get("2001:db8:1:3::1") == 200  # the next /64 is another client
    assert client_key("::ffff:192.0.2.1") == client_key("192.0.2.1") == "lg:192.0.2.1"
    assert client_key("2001:db8::1") == "lg:2001:db8::/64"


def test_answer_cache_keeps_answers_for_a_while():
    now = [100.0]
    cache = AnswerCache(seconds=30, entries=2, clock=lambda: now[0])
    calls = []

    def compute(x):
        calls.append(x)
        return [x]

    assert cache.get(("a",), lambda: compute(1)) == [1]
    now[0] += 29
    assert cache.get(("a",), lambda: compute(2)) == [1] and calls == [1]
    now[0] += 2
    assert cache.get(("a",), lambda: compute(3)) == [3] and calls == [1, 3]
    cache.get(("b",), lambda: compute(4))
    cache.get(("c",), lambda: compute(5))  # the table is bounded: "a" goes
    assert cache.get(("a",), lambda: compute(6)) == [6]


def test_anonymous_answers_are_cached_users_are_not(public_box, monkeypatch):
    calls = []

    def lookup(self, query):
        calls.append(query)
        return []

    monkeypatch.setattr(LookingGlass, "lookup", lookup)
    client = create_app(public_box).test_client()
    for _ in range(3):
        assert client.get("/lg/search?q=192.0.2.1").status_code == 200
        assert client.get("/birdwatcher/routes/prefix?prefix=192.0.2.1").status_code == 200
    assert calls == ["192.0.2.1/32"]
    _log_in(client)
    client.get("/lg/search?q=192.0.2.1")
    client.get("/lg/search?q=192.0.2.1")
    assert calls == ["192.0.2.1/32"] * 3


class _FakeBird:
    """Counts commands; answers filtered routes from a fixed list, as BIRD's "in" would."""

    def __init__(self, routes):
        self.commands, self.routes_ = [], routes

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def routes(self, **query):
        self.commands.append(("routes", query))
        return []

    def command(self, text):
        self.commands.append(text)
        if not self.routes_:
            raise BirdError(8001, "Network not found", text)
        return text


def _glass(tmp_path, routes, monkeypatch):
    fake = _FakeBird(routes)
    glass = LookingGlass(tmp_path, 64511, min_lengths=(8, 12))
    monkeypatch.setattr(glass, "_client", lambda: fake)
    monkeypatch.setattr(looking_glass, "parse_routes", lambda _reply: list(fake.routes_))
    return glass, fake


def test_an_address_lookup_is_two_commands(tmp_path, monkeypatch):
    glass, fake = _glass(tmp_path, [], monkeypatch)
    assert glass.lookup("2001:db8::1") == []
    assert len(fake.commands) == 2  # was 130: one per prefix length
    assert fake.commands[1] == "show route in 2000::/12 table all filtered all"


def test_lookup_keeps_only_overlapping_filtered_routes(tmp_path, monkeypatch):
    routes = [Route("10.99.0.0/16", "t_m1", "m1", False),     # covers the address
              Route("10.99.1.0/24", "t_m1", "m1", False),     # covers it more specifically
              Route("10.98.0.0/16", "t_m1", "m1", False),     # a neighbour in the same /8
              Route("10.99.0.0/16", "master4", "m1", False)]  # the master copy: not again
    glass, _ = _glass(tmp_path, routes, monkeypatch)
    found = glass.lookup("10.99.1.1")
    assert [(r["prefix"], r["filtered"]) for r in found] == [("10.99.0.0/16", True),
                                                             ("10.99.1.0/24", True)]
    assert str(search_root(looking_glass.ipaddress.ip_network("8.0.0.0/6"), 8)) == "8.0.0.0/6"


def test_bird_errors_show_no_internal_paths(public_box):
    anon = create_app(public_box).test_client()
    viewer = create_app(public_box).test_client()
    _log_in(viewer, VIEWER, VIEWER_PASSWORD)
    for client in (anon, viewer):
        page = client.get("/lg/search?q=192.0.2.1").get_data(as_text=True)
        api = client.get("/birdwatcher/status").get_json()["error"]
        for text in (page, api):
            assert "does not answer" in text
            assert str(public_box) not in text and ".ctl" not in text and "/run" not in text
    admin = create_app(public_box).test_client()
    _log_in(admin)
    assert str(public_box) in admin.get("/birdwatcher/status").get_json()["error"]
