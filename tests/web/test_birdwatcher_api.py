"""The birdwatcher API's errors, access and limits, read with Alice-LG's parsers (alice.py):
every error is JSON that Alice reports as an error (never a page, never "no routes"); API
tokens (bearer, or basic auth as Alice sends them) and allowed networks open a private box.
No BIRD runs here: a request let through answers 503 ("the route server does not answer")."""

from __future__ import annotations

import base64
import os
import time

import pytest
import yaml

from appliance.box import build_pipeline
from appliance.config.errors import ConfigError
from appliance.config.loader import load_config_text
from appliance.web import create_app
from appliance.web.accounts import hash_password
from appliance.web.api import tokens
from appliance.web.birdwatcher import bird_time

from .alice import AliceError, Source, api_status, documented_sources, routes_stream
from .conftest import ADMIN, PASSWORD

ALICE_ADDR = "192.0.2.20"
SRC = Source(id="rs1", name="rs1", api="http://box/birdwatcher", type="single_table",
             servertime_short="2006-01-02 15:04:05", servertime_ext="2006-01-02 15:04:05")


def _box(tmp_path, example_text, **looking_glass) -> object:
    data = yaml.safe_load(example_text)
    data["admin_users"] = [{"name": ADMIN, "password_hash": hash_password(PASSWORD)}]
    data.setdefault("services", {})["looking_glass"] = looking_glass
    out = build_pipeline(tmp_path).run(yaml.safe_dump(data), author="t")
    assert out.ok, out.error
    return tmp_path


def _alice_fails(resp, *, contains: str) -> None:
    """Alice reads the answer both ways (whole, and as a routes stream) and reports an error
    naming ``contains`` each time."""
    body = resp.get_json()
    assert isinstance(body, dict) and contains in body["error"], body
    with pytest.raises(AliceError, match="bird error") as whole:
        api_status(body, SRC)
    assert contains in str(whole.value)
    with pytest.raises(AliceError) as stream:
        routes_stream(body, SRC)
    assert contains in str(stream.value)


def _basic(secret: str, user: str = "alice") -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()}


def test_unknown_paths_answer_json_alice_reports(tmp_path, example_text):
    client = create_app(_box(tmp_path, example_text, public=True)).test_client()
    for path in ("/birdwatcher", "/birdwatcher/", "/birdwatcher/nope",
                 "/birdwatcher/routes/nope/x", "/birdwatcher/routes/count/protocol/x",
                 "/birdwatcher/routes/table/master4/peer"):
        resp = client.get(path, headers={"Accept": "text/html"})
        assert resp.status_code == 404, path
        assert resp.mimetype == "application/json", path
        _alice_fails(resp, contains="not found")
    resp = client.post("/birdwatcher/status")
    assert resp.status_code == 405 and resp.mimetype == "application/json"


def test_private_box_refuses_in_a_shape_alice_reports(tmp_path, example_text):
    client = create_app(_box(tmp_path, example_text)).test_client()
    for path in ("/birdwatcher/status", "/birdwatcher/routes/protocol/c64496_203_0_113_10",
                 "/birdwatcher/routes/table/master4", "/birdwatcher/protocols"):
        resp = client.get(path)
        assert resp.status_code == 401, path
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
        _alice_fails(resp, contains="not public")


def test_tokens_open_a_private_box(tmp_path, example_text):
    state = _box(tmp_path, example_text)
    client = create_app(state).test_client()
    secret = tokens.create(state, "alice-lg", ADMIN, scope="read")
    # bearer, and basic auth with the token as password (what Alice sends from
    # api = https://alice:<token>@box/birdwatcher); the user name is free
    for headers in ({"Authorization": f"Bearer {secret}"}, _basic(secret),
                    _basic(secret, user="anything")):
        resp = client.get("/birdwatcher/status", headers=headers)
        assert resp.status_code == 503, headers  # let through: no BIRD runs here
        assert "does not answer" in resp.get_json()["error"]
        _alice_fails(resp, contains="does not answer")
    for headers in ({"Authorization": "Bearer ixp_nope_nope"}, _basic("wrong"),
                    {"Authorization": f"Bearer {secret}x"}):
        resp = client.get("/birdwatcher/status", headers=headers)
        assert resp.status_code == 401, headers
        _alice_fails(resp, contains="not valid")
    # an expired token says so
    rows = tokens.load(state)
    expired = [r.__class__(**{**r.__dict__, "expires": "2020-01-01T00:00:00+00:00"})
               for r in rows]
    tokens._save(state, expired)
    resp = client.get("/birdwatcher/status", headers=_basic(secret))
    assert resp.status_code == 401 and "expired" in resp.get_json()["error"]


def test_allowed_networks_open_a_private_box_without_limits(tmp_path, example_text):
    state = _box(tmp_path, example_text, allowed_networks=[f"{ALICE_ADDR}/32"])
    app = create_app(state, {"LG_ANONYMOUS_PER_MINUTE": 2})
    client = app.test_client()
    alice = {"REMOTE_ADDR": ALICE_ADDR}
    # far more than the anonymous limit, all let through
    assert {client.get("/birdwatcher/status", environ_base=alice).status_code
            for _ in range(6)} == {503}
    # IPv4 through an IPv6 socket counts too
    assert client.get("/birdwatcher/status",
                      environ_base={"REMOTE_ADDR": f"::ffff:{ALICE_ADDR}"}).status_code == 503
    # anyone else is refused, and the allowed networks open no page
    assert client.get("/birdwatcher/status",
                      environ_base={"REMOTE_ADDR": "192.0.2.21"}).status_code == 401
    assert client.get("/lg", environ_base=alice).status_code == 302
    assert client.get("/api/v1/status", environ_base=alice).status_code == 401


def test_rate_limit_answer_alice_reports(tmp_path, example_text):
    state = _box(tmp_path, example_text, public=True)
    app = create_app(state, {"LG_ANONYMOUS_PER_MINUTE": 2})
    anon = app.test_client()
    assert [anon.get("/birdwatcher/status").status_code for _ in range(2)] == [503, 503]
    resp = anon.get("/birdwatcher/routes/filtered/c64496_203_0_113_10")
    assert resp.status_code == 429 and int(resp.headers["Retry-After"]) > 0
    assert resp.mimetype == "application/json"
    _alice_fails(resp, contains="Too many requests")
    # a token holder is not counted
    secret = tokens.create(state, "alice-lg", ADMIN, scope="read")
    assert {anon.get("/birdwatcher/status", headers=_basic(secret)).status_code
            for _ in range(5)} == {503}


def test_allowed_networks_are_validated(example_text):
    data = yaml.safe_load(example_text)
    data.setdefault("services", {})["looking_glass"] = {"allowed_networks": ["not a net"]}
    with pytest.raises(ConfigError):
        load_config_text(yaml.safe_dump(data))
    data["services"]["looking_glass"] = {"allowed_networks": ["192.0.2.20/32", "2001:db8::/64"]}
    cfg = load_config_text(yaml.safe_dump(data))
    assert [str(n) for n in cfg.services.looking_glass.allowed_networks] == [
        "192.0.2.20/32", "2001:db8::/64"]


def test_documented_alice_config_is_one_alice_accepts():
    sources = documented_sources()
    assert sorted(s.type for s in sources) == ["multi_table", "single_table"]
    for s in sources:
        assert s.api.endswith("/birdwatcher") and s.timezone == "UTC"
        assert s.servertime_short == s.servertime_ext == "2006-01-02 15:04:05"
    single = next(s for s in sources if s.type == "single_table")
    assert (single.main_table4, single.main_table6) == ("master4", "master6")
    multi = next(s for s in sources if s.type == "multi_table")
    # the box's member tables and pipes (render/templates/bird/clients.j2)
    assert (multi.peer_table_prefix, multi.pipe_protocol_prefix) == ("t_", "p_")
    assert multi.main_table == "master"


def test_bird_times_come_out_in_utc():
    old = os.environ.get("TZ")
    os.environ["TZ"] = "Pacific/Fiji"  # UTC+12, no summer time since 2022
    time.tzset()
    try:
        assert bird_time("2026-12-01 13:47:23.123") == "2026-12-01 01:47:23"
        assert bird_time("2026-12-01 13:47:23") == "2026-12-01 01:47:23"
        # a time of day alone (BIRD's default format): today's
        today = time.strftime("%Y-%m-%d")
        assert bird_time("13:47:23.123")[:10] <= today and len(bird_time("13:47:23")) == 19
        assert bird_time("") == bird_time("never") == ""
    finally:
        if old is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = old
        time.tzset()


def test_before_setup_the_api_answers_json(tmp_path):
    # no account yet: every page leads to /setup, the API says so in JSON instead
    client = create_app(tmp_path).test_client()
    resp = client.get("/birdwatcher/protocols/bgp")
    assert resp.status_code == 401 and resp.mimetype == "application/json"
    _alice_fails(resp, contains="not set up")
    assert client.get("/lg").status_code == 302
