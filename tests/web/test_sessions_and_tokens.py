"""Sessions that end (issue 16 item 4): logout and a password change revoke a session on the
server, also across a restart; API tokens expire and have a scope."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import yaml

from appliance.box import build_pipeline
from appliance.config.revisions import RevisionStore
from appliance.web import auth, create_app
from appliance.web.accounts import hash_password
from appliance.web.api import tokens

from .conftest import ADMIN, csrf, logged_in

MEMBER = {"asn": 64501, "name": "Coral Cloud", "ports": ["ixp6"], "macs": ["02:00:5e:10:00:06"],
          "ipv4": ["203.0.113.15"], "ipv6": ["2001:db8:eeee::15"]}


def _logged_in(state_dir):
    auth.source_throttle.clear()
    return logged_in(state_dir)


def _cookie(c) -> str:
    return c.get_cookie("session").value


def _with_cookie(state_dir, value: str):
    c = create_app(state_dir).test_client()
    c.set_cookie("session", value)
    return c


def test_a_cookie_saved_before_logout_no_longer_works(configured):
    c = _logged_in(configured)
    saved = _cookie(c)
    home = c.get("/")
    assert home.status_code == 200
    assert _with_cookie(configured, saved).get("/").status_code == 200  # a copy works ...
    c.post("/logout", data={"csrf_token": csrf(home.data)})
    replay = _with_cookie(configured, saved).get("/")
    assert replay.status_code == 302, "a cookie copied before logout must not open the box"
    assert replay.headers["Location"].startswith("/login")
    # nor can it mint an API token (the page's form needs a session the server knows)
    made = _with_cookie(configured, saved).post(
        "/users/tokens", data={"label": "stolen", "csrf_token": csrf(home.data)})
    assert made.status_code in (302, 400) and tokens.load(configured) == []
    assert _with_cookie(configured, saved).get("/api/v1/members").status_code == 401


def test_sessions_survive_a_restart_and_logout_survives_it_too(configured):
    live = _logged_in(configured)
    ended = _logged_in(configured)
    ended_cookie = _cookie(ended)
    page = ended.get("/")
    ended.post("/logout", data={"csrf_token": csrf(page.data)})
    # a new app on the same state dir is a restart
    assert _with_cookie(configured, _cookie(live)).get("/").status_code == 200
    assert _with_cookie(configured, ended_cookie).get("/").headers["Location"] \
        .startswith("/login")
    stored = (configured / "web" / "sessions.json")
    assert stored.stat().st_mode & 0o777 == 0o600
    with live.session_transaction() as sess:
        sid = sess["sid"]
    assert sid not in stored.read_text(), "the server keeps only a digest of the session id"


def test_a_password_change_ends_the_sessions_of_that_user(configured):
    c = _logged_in(configured)
    assert c.get("/").status_code == 200
    data = yaml.safe_load(RevisionStore(configured).latest().config)
    data["admin_users"][0]["password_hash"] = hash_password("a whole new pass phrase")
    assert build_pipeline(configured).run(yaml.safe_dump(data), author="t", comment="password").ok
    resp = c.get("/")
    assert resp.headers["Location"].startswith("/login")
    page = c.get(resp.headers["Location"])
    assert b"password changed" in page.data


def test_sessions_from_before_server_side_sessions_are_refused(configured):
    c = _logged_in(configured)
    with c.session_transaction() as sess:
        del sess["sid"]
    assert c.get("/").headers["Location"].startswith("/login")


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_tokens_expire_after_a_year_by_default(configured):
    secret = tokens.create(configured, "script", ADMIN)
    row = tokens.load(configured)[0]
    made, expires = datetime.fromisoformat(row.created), datetime.fromisoformat(row.expires)
    assert expires - made == timedelta(days=365) and row.scope == "admin"
    c = create_app(configured).test_client()
    assert c.get("/api/v1/members", headers=_bearer(secret)).status_code == 200
    # a year later
    rows = json.loads((configured / "web" / "api-tokens.json").read_text())
    rows[0]["expires"] = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    (configured / "web" / "api-tokens.json").write_text(json.dumps(rows))
    resp = c.get("/api/v1/members", headers=_bearer(secret))
    assert resp.status_code == 401
    assert "token 'script' expired on" in resp.get_json()["error"]


def test_a_read_only_token_cannot_change_anything(configured):
    secret = tokens.create(configured, "grafana", ADMIN, scope="read")
    c = create_app(configured).test_client()
    assert c.get("/api/v1/members", headers=_bearer(secret)).status_code == 200
    for method, path in (("POST", "/api/v1/members"), ("PUT", "/api/v1/config"),
                         ("DELETE", "/api/v1/members/64498"),
                         ("POST", "/api/v1/revisions/1/rollback")):
        resp = c.open(path, method=method, json=MEMBER, headers=_bearer(secret))
        assert resp.status_code == 403, (method, path)
        assert "read-only" in resp.get_json()["error"]
    assert RevisionStore(configured).latest().id == 1


def test_tokens_from_before_expiry_keep_working_and_are_shown_as_such(client, configured):
    secret = tokens.create(configured, "old", ADMIN)
    rows = json.loads((configured / "web" / "api-tokens.json").read_text())
    for r in rows:
        del r["expires"], r["scope"]
    (configured / "web" / "api-tokens.json").write_text(json.dumps(rows))
    c = create_app(configured).test_client()
    assert c.get("/api/v1/members", headers=_bearer(secret)).status_code == 200
    assert c.post("/api/v1/members?dry_run=true", json=MEMBER,
                  headers=_bearer(secret)).status_code == 200
    assert b"no expiry" in client.get("/users").data


def test_the_users_page_makes_tokens_with_scope_and_expiry(client, configured):
    page = client.get("/users")
    made = client.post("/users/tokens", data={"label": "ro", "scope": "read", "days": "30",
                                              "csrf_token": csrf(page.data)})
    assert made.status_code == 200
    secret = re.search(rb'<code id="new-token">([^<]+)</code>', made.data).group(1).decode()
    row = tokens.load(configured)[0]
    assert row.scope == "read"
    expires = datetime.fromisoformat(row.expires) - datetime.fromisoformat(row.created)
    assert expires == timedelta(days=30)
    c = create_app(configured).test_client()
    assert c.post("/api/v1/members", json=MEMBER, headers=_bearer(secret)).status_code == 403
    bad = client.post("/users/tokens", data={"label": "x", "scope": "root", "days": "7",
                                             "csrf_token": csrf(page.data)})
    assert bad.status_code == 400
    assert b"Choose read (look only) or admin" in bad.data
    assert b"Choose how long the token lasts" in bad.data
    assert len(tokens.load(configured)) == 1, "nothing is made from a refused form"
