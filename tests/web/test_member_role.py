"""The member role (issue 18 item 5): a member's account opens its own ASN's pages and nothing
else. Every registered route is requested (app.url_map), so a route added later that forgets
the check fails here."""

from __future__ import annotations

import re

import pytest
import yaml

from appliance.box import build_pipeline
from appliance.config.errors import ConfigError
from appliance.config.loader import config_from_data
from appliance.web import create_app
from appliance.web.accounts import hash_password
from appliance.web.api import tokens

from .conftest import ADMIN, PASSWORD, csrf

MEMBER, OWN, OTHER = "reef", 64498, 64496
OWN_SESSION, OTHER_SESSION = "c64498_203_0_113_12", "c64496_203_0_113_10"
# What a member may open (each for its own ASN where the route names one); anything else 403.
MEMBER_MAY = {
    "member.home", "member.report", "member.onboarding", "api.member_report",
    "api.member_onboarding", "graphs.member", "graphs.matrix", "api.matrix", "lg.session",
    "auth.login", "auth.logout", "i18n.choose", "static", "favicon", "status.healthz",
    "docs.index", "docs.page", "api.openapi_document", "api.docs", "export.participants",
    "export.member_export_api",
    # setup is over: these pages only send everyone away (no member data, nothing to do)
    "setup.code", "setup.admin", "setup.restore",
}
VALUES = {"asn": OTHER, "index": 0, "name": OTHER_SESSION, "rev_id": 1, "cand_id": "x",
          "job_id": "x", "token_id": "x", "filename": "app.css", "kind": "irr",
          "address": "203.0.113.10", "table": "master4"}


@pytest.fixture
def member_state(tmp_path, example_text):
    data = yaml.safe_load(example_text)
    data["admin_users"] = [{"name": ADMIN, "password_hash": hash_password(PASSWORD)},
                           {"name": MEMBER, "password_hash": hash_password(PASSWORD),
                            "role": "member", "asn": OWN}]
    out = build_pipeline(tmp_path).run(yaml.safe_dump(data), author="t", comment="first")
    assert out.ok, out.error
    return tmp_path


def _login(app, name=MEMBER):
    c = app.test_client()
    page = c.get("/login")
    resp = c.post("/login", data={"name": name, "password": PASSWORD,
                                  "csrf_token": csrf(page.data)})
    assert resp.status_code == 302
    return c, resp


def _url(app, rule, **override) -> str:
    values = {a: override.get(a, VALUES.get(a, "x")) for a in rule.arguments}
    if rule.endpoint == "docs.page":
        values["name"] = "operations"
    with app.test_request_context():
        from flask import url_for
        return url_for(rule.endpoint, **values)


def _requests(app):
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def test_member_account_needs_a_configured_member(example_text):
    data = yaml.safe_load(example_text)
    base = {"name": "m", "password_hash": hash_password(PASSWORD)}
    for user, message in (({**base, "role": "member"}, "needs the ASN"),
                          ({**base, "role": "member", "asn": 65000}, "not a member"),
                          ({**base, "role": "viewer", "asn": OWN}, "only a member account")):
        data["admin_users"] = [{"name": "a", "password_hash": base["password_hash"]}, user]
        with pytest.raises(ConfigError) as exc:
            config_from_data(data)
        assert [i.path for i in exc.value.issues] == ["admin_users[1].asn"]
        assert message in exc.value.issues[0].message
    data["admin_users"] = [{"name": "a", "password_hash": base["password_hash"]},
                           {**base, "role": "member", "asn": OWN}]
    assert config_from_data(data).admin_users[1].asn == OWN


def test_every_route_refuses_a_member_but_its_own(member_state):
    app = create_app(member_state, {"WTF_CSRF_ENABLED": False})
    client, login = _login(app)
    assert login.headers["Location"].endswith(f"/member/{OWN}")  # its start page
    allowed, refused = set(), set()
    for rule, method in _requests(app):
        resp = client.open(_url(app, rule), method=method)
        if resp.status_code == 403:
            refused.add(rule.endpoint)
        else:
            allowed.add(rule.endpoint)
        # every refusal says why, in words (a page or the API's JSON)
        if resp.status_code == 403 and rule.endpoint.startswith("api."):
            assert f"AS{OWN}" in resp.get_json()["error"]
        if rule.endpoint == "auth.logout":
            client, _ = _login(app)  # logged out: log in again for the rest
    assert allowed <= MEMBER_MAY, f"a member reaches: {sorted(allowed - MEMBER_MAY)}"
    # another member's pages, sessions and the admin pages are refused
    for endpoint in ("member.report", "member.onboarding", "api.member_report",
                     "api.member_onboarding", "graphs.member", "lg.session", "status.index",
                     "members.index", "lg.index", "api.list_members", "api.status",
                     "birdwatcher.protocols", "graphs.metrics", "users.index",
                     "history.index", "member.release", "api.release_member"):
        assert endpoint in refused, endpoint


def test_a_member_opens_its_own_pages(member_state):
    app = create_app(member_state, {"WTF_CSRF_ENABLED": False})
    client, _ = _login(app)
    for path in (f"/member/{OWN}", f"/member/{OWN}/onboarding", f"/graphs/member/{OWN}",
                 f"/api/v1/members/{OWN}/report", f"/api/v1/members/{OWN}/onboarding",
                 "/graphs/matrix", "/member"):
        resp = client.get(path)
        assert resp.status_code in (200, 302), (path, resp.status_code)
        assert resp.status_code != 403
    page = client.get(f"/member/{OWN}").get_data(as_text=True)
    assert "Reef Networks" in page and "Island Telecom" not in page
    # its navigation offers only its own pages
    nav = re.search(r'<nav aria-label="Main">(.*?)</nav>', page, re.S).group(1)
    assert "/members" not in nav and "/users" not in nav and f"/member/{OWN}" in nav
    # no release button, and the release itself is refused
    assert 'id="release"' not in client.get(f"/member/{OWN}/onboarding").get_data(as_text=True)
    assert client.post(f"/member/{OWN}/release").status_code == 403
    # its own looking-glass session is not refused (the route server does not run here)
    assert client.get(f"/lg/session/{OWN_SESSION}").status_code != 403
    assert client.get(f"/lg/session/{OTHER_SESSION}").status_code == 403


def test_a_member_token_is_held_to_the_same_rule(member_state):
    # a token made while the account was an admin keeps only what the role now allows
    secret = tokens.create(member_state, "old", MEMBER, scope="admin")
    app = create_app(member_state)
    h = {"Authorization": f"Bearer {secret}"}
    c = app.test_client()
    for rule, method in _requests(app):
        if not rule.endpoint.startswith("api.") or rule.endpoint in MEMBER_MAY:
            continue
        resp = c.open(_url(app, rule), method=method, headers=h, json={})
        assert resp.status_code == 403, (rule.endpoint, method, resp.status_code)
    assert c.get(f"/api/v1/members/{OWN}/report", headers=h).status_code == 200
    assert c.get(f"/api/v1/members/{OTHER}/report", headers=h).status_code == 403
    assert c.get(f"/api/v1/members/{OTHER}/onboarding", headers=h).status_code == 403
    assert c.get("/birdwatcher/protocols", headers=h).status_code == 403
    assert c.get("/metrics", headers=h).status_code == 403


def test_admin_and_viewer_keep_what_they_had(member_state, configured=None):
    app = create_app(member_state, {"WTF_CSRF_ENABLED": False})
    admin, _ = _login(app, ADMIN)
    assert admin.get(f"/member/{OTHER}").status_code == 200
    assert admin.get(f"/member/{OTHER}/onboarding").status_code == 200
    onboarding = admin.get(f"/api/v1/members/{OTHER}/onboarding").get_json()
    assert {c["check"] for c in onboarding["checks"]} >= {"link", "bgp", "routes"}
    assert admin.get("/members").status_code == 200


def test_a_member_sees_only_its_own_row_of_the_matrix_rates(member_state):
    import time

    from appliance.monitor.store import PairSample, SampleStore, samples_path

    store = SampleStore(samples_path(member_state))
    now = int(time.time())
    # own → other 1000 B/s, other → own 2000 B/s, and two others between themselves 7000 B/s
    for k in range(3):
        t = k * 300
        store.add_matrix(now - 600 + t, [PairSample(OWN, OTHER, "ipv4", t * 1000, t),
                                         PairSample(OTHER, OWN, "ipv4", t * 2000, t),
                                         PairSample(OTHER, 64497, "ipv6", t * 7000, t)])
    app = create_app(member_state)
    admin, _ = _login(app, ADMIN)
    everything = admin.get("/graphs/matrix?period=hour").get_data(as_text=True)
    assert "56 kbit/s" in everything and "8 kbit/s" in everything  # 7000 and 1000 B/s
    client, _ = _login(app)
    page = client.get("/graphs/matrix?period=hour").get_data(as_text=True)
    body = page[page.index("<tbody>"):page.index("</tbody>")]
    assert body.count("<tr>") == 1 and f"AS{OWN}" in body and "8 kbit/s" in body
    assert "56 kbit/s" not in page and "16 kbit/s" not in page  # others' pairs, its column
    # another member's per-peer graphs stay refused
    assert client.get(f"/graphs/member/{OTHER}").status_code == 403
    own = client.get(f"/graphs/member/{OWN}").get_data(as_text=True)
    assert f"AS{OTHER}" in own[own.index('id="peers"'):]
