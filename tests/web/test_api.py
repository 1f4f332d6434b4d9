"""The JSON API: tokens, reads, changes through the pipeline, and its OpenAPI document."""

from __future__ import annotations

import yaml

from appliance.config.revisions import RevisionStore
from appliance.web import create_app
from appliance.web.api import tokens

from .conftest import ADMIN, csrf, form_fields

MEMBER = {"asn": 64501, "name": "Coral Cloud", "ports": ["ixp6"], "macs": ["02:00:5e:10:00:06"],
          "ipv4": ["203.0.113.15"], "ipv6": ["2001:db8:eeee::15"]}


def _api(configured, user=ADMIN):
    secret = tokens.create(configured, "test", user)
    c = create_app(configured).test_client()
    return c, {"Authorization": f"Bearer {secret}"}


def test_openapi_document_is_served_and_complete(tmp_path):
    c = create_app(tmp_path).test_client()
    doc = c.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    assert {"IXPConfig", "Member", "Outcome", "Issue"} <= set(doc["components"]["schemas"])
    for path in ("/api/v1/config", "/api/v1/members", "/api/v1/members/{asn}",
                 "/api/v1/revisions/{rev_id}/rollback"):
        assert path in doc["paths"]


def test_api_needs_setup_and_a_token(tmp_path, configured):
    assert create_app(tmp_path / "fresh").test_client().get("/api/v1/status").status_code == 401
    c = create_app(configured).test_client()
    assert c.get("/api/v1/members").status_code == 401
    bad = c.get("/api/v1/members", headers={"Authorization": "Bearer ixp_0000_nope"})
    assert bad.status_code == 401 and "not valid" in bad.get_json()["error"]
    assert c.post("/api/v1/members", json=MEMBER).status_code == 401


def test_reads(configured):
    c, h = _api(configured)
    assert len(c.get("/api/v1/members", headers=h).get_json()) == 5
    assert c.get("/api/v1/members/64498", headers=h).get_json()[0]["name"] == "Reef Networks"
    assert c.get("/api/v1/members/1", headers=h).status_code == 404
    cfg = c.get("/api/v1/config", headers=h).get_json()
    assert cfg["peering_lan"]["mtu"] == 1500  # defaults filled in
    revs = c.get("/api/v1/revisions", headers=h).get_json()
    assert revs[0]["id"] == 1 and "config" not in revs[0]
    assert "Reef Networks" in c.get("/api/v1/revisions/1", headers=h).get_json()["config"]
    assert c.get("/api/v1/revisions/9", headers=h).status_code == 404


def test_member_add_dry_run_apply_remove(configured):
    c, h = _api(configured)
    plan = c.post("/api/v1/members?dry_run=true", json=MEMBER, headers=h)
    assert plan.status_code == 200 and plan.get_json()["changes"]
    assert RevisionStore(configured).latest().id == 1
    done = c.post("/api/v1/members", json=MEMBER, headers=h)
    assert done.status_code == 200 and done.get_json()["revision"]["id"] == 2
    clash = c.post("/api/v1/members", json={**MEMBER, "asn": 64502, "macs": ["02:00:00:00:00:99"],
                                            "ports": ["ixp7"]}, headers=h)
    assert clash.status_code == 422
    assert clash.get_json()["issues"][0]["path"] == "members[6].ipv4[0]"
    gone = c.delete("/api/v1/members/64501", headers=h)
    assert gone.status_code == 200 and gone.get_json()["revision"]["id"] == 3
    assert c.delete("/api/v1/members/64501", headers=h).status_code == 404


def test_put_config_validate_and_rollback(configured):
    c, h = _api(configured)
    cfg = c.get("/api/v1/config", headers=h).get_json()
    cfg["identity"]["city"] = "Apia"
    assert c.post("/api/v1/config/validate", json=cfg, headers=h).get_json()["valid"] is True
    bad = {**cfg, "peering_lan": {**cfg["peering_lan"], "ipv4_prefix": "203.0.113.1/24"}}
    resp = c.post("/api/v1/config/validate", json=bad, headers=h)
    v = resp.get_json()
    assert resp.status_code == 422 and v["valid"] is False
    assert v["issues"][0]["path"] == "peering_lan.ipv4_prefix"
    refused = c.put("/api/v1/config", json=bad, headers=h)
    assert refused.status_code == 422 and RevisionStore(configured).latest().id == 1
    assert c.put("/api/v1/config", data="not json", headers=h).status_code == 422
    ok = c.put("/api/v1/config?comment=city", json=cfg, headers=h)
    assert ok.status_code == 200 and ok.get_json()["revision"]["comment"] == "city"
    back = c.post("/api/v1/revisions/1/rollback", headers=h)
    assert back.status_code == 200 and back.get_json()["revision"]["id"] == 3
    assert yaml.safe_load(RevisionStore(configured).latest().config)["identity"].get("city") \
        == "Example Town"


def test_viewer_token_reads_but_cannot_change(client, configured):
    page = client.get("/users")
    client.post("/users", data={"name": "bob", "password": "viewer pass phrase",
                                "role": "viewer", "csrf_token": csrf(page.data)})
    review = client.get("/changes/review")
    client.post("/changes/apply", data=form_fields(review.data, "/changes/apply"))
    import time
    deadline = time.monotonic() + 20
    while RevisionStore(configured).latest().id < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    c, h = _api(configured, user="bob")
    assert c.get("/api/v1/members", headers=h).status_code == 200
    denied = c.post("/api/v1/members", json=MEMBER, headers=h)
    assert denied.status_code == 403


def test_session_cookie_cannot_make_changes(client):
    # a logged-in browser may read the API, but a cross-site form cannot change anything
    assert client.get("/api/v1/members").status_code == 200
    assert client.post("/api/v1/members", json=MEMBER).status_code == 401


def test_tokens_from_the_users_page(client, configured):
    page = client.get("/users")
    made = client.post("/users/tokens", data={"label": "grafana", "csrf_token": csrf(page.data)})
    import re
    secret = re.search(rb'<code id="new-token">([^<]+)</code>', made.data).group(1).decode()
    c = create_app(configured).test_client()
    assert c.get("/api/v1/members", headers={"Authorization": f"Bearer {secret}"}).status_code \
        == 200
    token_id = secret.split("_", 2)[1]
    client.post(f"/users/tokens/{token_id}/revoke", data={"csrf_token": csrf(made.data)})
    assert c.get("/api/v1/members", headers={"Authorization": f"Bearer {secret}"}).status_code \
        == 401
    stored = (configured / "web" / "api-tokens.json").read_text()
    assert secret.split("_", 2)[2] not in stored
