"""The admin pages after setup: members (with PeeringDB), review → apply, history, users."""

from __future__ import annotations

import re
import shutil
import time

import yaml

from appliance.box import build_pipeline
from appliance.config.revisions import RevisionStore
from appliance.web import create_app

from ..conftest import ROOT
from .conftest import csrf, form_fields

NEW_MEMBER = {"asn": "64501", "name": "Coral Cloud", "noc_email": "noc@coral.example.net",
              "ports": "ixp6", "macs": "02:00:5e:10:00:06", "ipv4": "203.0.113.15",
              "ipv6": "2001:db8:eeee::15", "max_prefix.ipv4": "20", "max_prefix.ipv6": "10",
              "as_set": "AS-CORAL", "route_server": "on"}


def _apply_pending(client) -> dict:
    review = client.get("/changes/review")
    assert review.status_code == 200, review.data[:500]
    resp = client.post("/changes/apply", data=form_fields(review.data, "/changes/apply"))
    url = resp.headers["Location"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        job = client.get(url + ".json").get_json()
        if job["done"]:
            return job
        time.sleep(0.05)
    raise AssertionError("apply did not finish")


def test_add_member_review_apply(client, configured):
    page = client.get("/members/new")
    bad = client.post("/members/new", data={**NEW_MEMBER, "ipv4": "203.0.113.12",
                                            "action": "save", "csrf_token": csrf(page.data)})
    assert bad.status_code == 400
    assert b"already used by members[2]" in bad.data and b'value="Coral Cloud"' in bad.data
    assert RevisionStore(configured).latest().id == 1

    resp = client.post("/members/new", data={**NEW_MEMBER, "action": "save",
                                              "csrf_token": csrf(page.data)})
    assert re.search(r"/changes/[A-Za-z0-9_-]{16}$", resp.headers["Location"])
    review = client.get("/changes/review")
    assert b"member add AS64501 Coral Cloud" in review.data
    assert b"+  name: Coral Cloud" in review.data
    job = _apply_pending(client)
    assert job["outcome"]["ok"], job
    rev = RevisionStore(configured).latest()
    assert rev.id == 2 and rev.comment == "member add AS64501 Coral Cloud"
    assert any(m["asn"] == 64501 for m in yaml.safe_load(rev.config)["members"])
    assert b"Coral Cloud" in client.get("/members").data


def test_edit_and_remove_member(client, configured):
    page = client.get("/members/2/edit")
    assert b'value="Reef Networks"' in page.data
    resp = client.post("/members/2/edit", data={**_form_of(page.data), "name": "Reef Networks Ltd",
                                                "action": "save", "csrf_token": csrf(page.data)})
    assert resp.status_code == 302, resp.data[:3000]
    assert _apply_pending(client)["outcome"]["ok"]
    members = yaml.safe_load(RevisionStore(configured).latest().config)["members"]
    assert members[2]["name"] == "Reef Networks Ltd" and len(members) == 5

    listing = client.get("/members")
    client.post("/members/4/remove", data={"csrf_token": csrf(listing.data)})
    review = client.get("/changes/review")
    assert b"member remove AS64500" in review.data
    client.post("/changes/discard", data=form_fields(review.data, "/changes/discard"))
    assert RevisionStore(configured).latest().id == 2, "discard applies nothing"


def _form_of(html: bytes) -> dict[str, str]:
    from .test_wizard_flow import _current_values
    return _current_values(html)


def test_peeringdb_lookup_fills_the_form(client, configured):
    cfg = yaml.safe_load(RevisionStore(configured).latest().config)
    cfg["identity"]["peeringdb_ix_id"] = 777
    assert build_pipeline(configured).run(yaml.safe_dump(cfg), author="t").ok
    (configured / "peeringdb").mkdir()
    shutil.copy(ROOT / "tests" / "fixtures" / "peeringdb" / "peeringdb.json",
                configured / "peeringdb" / "peeringdb.json")
    page = client.get("/members/new")
    assert b"Look up in PeeringDB" in page.data
    resp = client.post("/members/new", data={"asn": "64501", "action": "lookup",
                                             "csrf_token": csrf(page.data)})
    assert b"Filled in from PeeringDB: Coral Cloud" in resp.data
    assert b'value="Coral Cloud"' in resp.data and b'value="AS-CORAL"' in resp.data
    assert b'value="203.0.113.15"' in resp.data and b'value="20"' in resp.data
    assert b"198.51.100.15" not in resp.data, "only addresses on this IXP are used"
    resp = client.post("/members/new", data={"asn": "65999", "action": "lookup",
                                             "csrf_token": csrf(page.data)})
    assert b"not in the PeeringDB file" in resp.data


def test_history_diff_and_rollback(client, configured):
    cfg = yaml.safe_load(RevisionStore(configured).latest().config)
    cfg["identity"]["city"] = "Nuku'alofa"
    assert build_pipeline(configured).run(yaml.safe_dump(cfg), author="bob", comment="city").ok
    page = client.get("/history")
    assert b"city" in page.data and b"first light" in page.data
    diff = client.get("/history/diff?a=1")
    assert b"+  city: Nuku&#39;alofa" in diff.data
    assert client.get("/history/diff?a=99").status_code == 404
    client.post("/history/1/rollback", data={"csrf_token": csrf(page.data)})
    assert _apply_pending(client)["outcome"]["ok"]
    rev = RevisionStore(configured).latest()
    assert rev.id == 3 and rev.comment == "rollback to revision 1"


def test_users_add_viewer_who_cannot_change(client, configured):
    page = client.get("/users")
    weak = client.post("/users", data={"name": "bob", "password": "x", "role": "viewer",
                                       "csrf_token": csrf(page.data)})
    assert weak.status_code == 400 and b"at least 12" in weak.data
    client.post("/users", data={"name": "bob", "password": "viewer pass phrase",
                                "role": "viewer", "csrf_token": csrf(page.data)})
    assert _apply_pending(client)["outcome"]["ok"]
    viewer = create_app(configured).test_client()
    login = viewer.get("/login")
    viewer.post("/login", data={"name": "bob", "password": "viewer pass phrase",
                                "csrf_token": csrf(login.data)})
    listing = viewer.get("/members")
    assert listing.status_code == 200 and b"Add member" not in listing.data
    denied = viewer.post("/members/0/remove", data={"csrf_token": csrf(listing.data)})
    assert denied.status_code == 403
    assert RevisionStore(configured).latest().id == 2


def test_cannot_remove_yourself(client):
    page = client.get("/users")
    assert client.post("/users/alice/remove", data={"csrf_token": csrf(page.data)}).status_code \
        == 409


def test_unknown_pages_404(client):
    assert client.get("/members/99/edit").status_code == 404
    assert client.get("/nope").status_code == 404



def test_editing_a_member_keeps_what_the_form_does_not_show(client, configured):
    # The BGP password, policy overrides and a root instance's extra prefixes are not on the
    # form; saving the form must not drop them (they live only in the config).
    data = yaml.safe_load(RevisionStore(configured).latest().config)
    data["members"][1]["md5_password"] = "kept-secret-1"
    data["members"][1]["policy"] = {"rpki": "tag_only"}
    data["members"][1]["root_instance"] = {"letter": "k", "prefixes": ["193.0.16.0/24"]}
    assert build_pipeline(configured).run(yaml.safe_dump(data), author="t").ok

    page = client.get("/members/1/edit")
    assert b'<option value="k" selected>K-root (RIPE NCC)</option>' in page.data
    form = {**_form_of(page.data), "bfd": "on", "action": "save", "csrf_token": csrf(page.data)}
    resp = client.post("/members/1/edit", data=form)
    assert resp.status_code == 302, resp.data[:3000]
    assert _apply_pending(client)["outcome"]["ok"]
    m = yaml.safe_load(RevisionStore(configured).latest().config)["members"][1]
    assert m["md5_password"] == "kept-secret-1" and m["policy"] == {"rpki": "tag_only"}
    assert m["root_instance"] == {"letter": "k", "prefixes": ["193.0.16.0/24"]}
    assert m["bfd"] is True and "ttl_security" not in m

    # Choosing "an ordinary member" removes the root instance, prefixes included.
    page = client.get("/members/1/edit")
    form = {**_form_of(page.data), "root_instance.letter": "", "action": "save",
            "csrf_token": csrf(page.data)}
    assert client.post("/members/1/edit", data=form).status_code == 302
    assert _apply_pending(client)["outcome"]["ok"]
    m = yaml.safe_load(RevisionStore(configured).latest().config)["members"][1]
    assert "root_instance" not in m and m["md5_password"] == "kept-secret-1"
