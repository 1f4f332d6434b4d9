"""One candidate model (issue 15 item 3): Apply applies exactly the reviewed change, once; a
change made on an older revision is replayed on the new one or refused; a rollback keeps
today's admins; a review page verifies once."""

from __future__ import annotations

import re
import threading

import yaml

from appliance.box import build_pipeline
from appliance.config.revisions import RevisionStore
from appliance.pipeline.run import Pipeline
from appliance.web import api as api_view
from appliance.web import create_app
from appliance.web.accounts import hash_password
from appliance.web.api import tokens

from .conftest import ADMIN, PASSWORD, csrf, form_fields, logged_in, wait_job
from .test_admin_pages import NEW_MEMBER

LAGOON = {**NEW_MEMBER, "asn": "64502", "name": "Lagoon Télécom", "ports": "ixp7",
          "macs": "02:00:5e:10:00:07", "ipv4": "203.0.113.16", "ipv6": "2001:db8:eeee::16"}


def _prepare(client, member: dict) -> str:
    """Add ``member`` through the form; the review page's HTML."""
    page = client.get("/members/new")
    resp = client.post("/members/new", data={**member, "action": "save",
                                              "csrf_token": csrf(page.data)})
    assert resp.status_code == 302, resp.data[:1500]
    assert re.search(r"/changes/[A-Za-z0-9_-]{16}$", resp.headers["Location"])
    return client.get(resp.headers["Location"]).data.decode()


def _asns(state) -> set[int]:
    return {m["asn"] for m in yaml.safe_load(RevisionStore(state).latest().config)["members"]}


def test_apply_applies_the_reviewed_candidate_by_id_and_digest(client, configured):
    review_a = _prepare(client, NEW_MEMBER)
    review_b = _prepare(client, LAGOON)  # the same user in a second tab
    fields_a = form_fields(review_a, "/changes/apply")
    fields_b = form_fields(review_b, "/changes/apply")
    assert fields_a["candidate"] != fields_b["candidate"]

    tampered = client.post("/changes/apply", data={**fields_a, "digest": "0" * 64},
                           follow_redirects=True)
    assert RevisionStore(configured).latest().id == 1, "a digest that differs applies nothing"
    assert b"Review the change" in tampered.data

    job = wait_job(client, client.post("/changes/apply", data=fields_a).headers["Location"])
    assert job["outcome"]["ok"], job
    rev = RevisionStore(configured).latest()
    assert rev.comment == "member add AS64501 Coral Cloud"
    assert 64501 in _asns(configured) and 64502 not in _asns(configured)

    # Tab B's candidate was made on revision 1: refused unseen, replayed and shown again.
    again = client.post("/changes/apply", data=fields_b, follow_redirects=True).data.decode()
    assert RevisionStore(configured).latest().id == 2
    assert "Revision 2 was applied after this change was prepared" in again
    fields = form_fields(again, "/changes/apply")
    assert fields["digest"] != fields_b["digest"]
    job = wait_job(client, client.post("/changes/apply", data=fields).headers["Location"])
    assert job["outcome"]["ok"], job
    assert {64501, 64502} <= _asns(configured)


def test_a_second_apply_joins_the_first(client, configured):
    fields = form_fields(_prepare(client, NEW_MEMBER), "/changes/apply")
    first = client.post("/changes/apply", data=fields).headers["Location"]
    second = client.post("/changes/apply", data=fields).headers["Location"]
    assert first == second, "the second click shows the first one's progress"
    job = wait_job(client, first)
    assert job["outcome"]["ok"] and "nothing to change" not in job["outcome"]["message"]
    third = client.post("/changes/apply", data=fields).headers["Location"]
    assert third == first, "also after it finished (a resent form, the Back button)"
    assert client.get(f"/changes/{fields['candidate']}").headers["Location"] == first
    assert RevisionStore(configured).latest().id == 2


def test_the_review_verifies_once_and_its_reload_runs_no_tool(client, configured, monkeypatch):
    calls = []
    real = Pipeline.verify

    def counted(self, cfg, files):
        calls.append(1)
        return real(self, cfg, files)
    monkeypatch.setattr(Pipeline, "verify", counted)
    review = _prepare(client, NEW_MEMBER)
    assert len(calls) == 1, "the form's check and the review share one verify"
    fields = form_fields(review, "/changes/apply")
    for _ in range(3):
        assert b"Coral Cloud" in client.get(f"/changes/{fields['candidate']}").data
    assert len(calls) == 1, "a reload runs no tool"
    job = wait_job(client, client.post("/changes/apply", data=fields).headers["Location"])
    assert job["outcome"]["ok"]
    assert job["stages"]["verify"] == {"state": "ok", "message": "checked at review"}
    assert len(calls) == 1, "the files verified at review are not verified again"


def test_a_rollback_keeps_todays_admins(tmp_path, example_text):
    data = yaml.safe_load(example_text)  # revision 1: before the wizard, no account yet
    assert build_pipeline(tmp_path).run(yaml.safe_dump(data), author="lab").ok
    data["admin_users"] = [{"name": ADMIN, "password_hash": hash_password(PASSWORD)}]
    data["identity"]["name"] = "Second Name IX"
    assert build_pipeline(tmp_path).run(yaml.safe_dump(data), author="wizard").ok
    c = logged_in(tmp_path)
    history = c.get("/history")
    review = c.post("/history/1/rollback", data={"csrf_token": csrf(history.data)},
                    follow_redirects=True).data.decode()
    assert "rollback to revision 1" in review
    job = wait_job(c, c.post("/changes/apply",
                             data=form_fields(review, "/changes/apply")).headers["Location"])
    assert job["outcome"]["ok"], job
    now = yaml.safe_load(RevisionStore(tmp_path).latest().config)
    assert now["identity"]["name"] != "Second Name IX", "the network config was rolled back"
    assert [u["name"] for u in now["admin_users"]] == [ADMIN], "today's admin is kept"
    assert logged_in(tmp_path).get("/").status_code == 200, "and can still log in"


def _api(configured):
    secret = tokens.create(configured, "test", ADMIN)
    return create_app(configured), {"Authorization": f"Bearer {secret}"}


def test_concurrent_api_edits_of_different_members_both_land(configured, monkeypatch):
    app, h = _api(configured)
    both_read = threading.Barrier(2, timeout=20)
    real = api_view._committed

    def read_then_wait():
        head = real()
        both_read.wait()  # both requests read revision 1 before either commits
        return head
    monkeypatch.setattr(api_view, "_committed", read_then_wait)
    new = {"asn": 64501, "name": "Coral Cloud", "ports": ["ixp6"],
           "macs": ["02:00:5e:10:00:06"], "ipv4": ["203.0.113.15"],
           "ipv6": ["2001:db8:eeee::15"], "max_prefix": {"ipv4": 10, "ipv6": 10}}
    answers: dict[str, tuple[int, dict]] = {}

    def call(name, method, path, **kw):
        resp = app.test_client().open(path, method=method, headers=h, **kw)
        answers[name] = (resp.status_code, resp.get_json())
    threads = [threading.Thread(target=call, args=("add", "POST", "/api/v1/members"),
                                kwargs={"json": new}),
               threading.Thread(target=call, args=("remove", "DELETE",
                                                   "/api/v1/members/64498"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert answers["add"][0] == 200 and answers["remove"][0] == 200, answers
    assert RevisionStore(configured).latest().id == 3
    asns = _asns(configured)
    assert 64501 in asns and 64498 not in asns, "neither change undid the other"
    rebased = [a[1]["rebased_on"] for a in answers.values()]
    assert sorted(rebased, key=str) == [2, None], rebased


def test_an_api_change_to_what_changed_since_it_was_read_is_refused(configured):
    app, h = _api(configured)
    c = app.test_client()
    read = c.get("/api/v1/config", headers=h).get_json()
    base = RevisionStore(configured).latest().id
    first = {**read, "identity": {**read["identity"], "name": "First Edit IX"}}
    assert c.put(f"/api/v1/config?base={base}", json=first, headers=h).status_code == 200
    second = {**read, "identity": {**read["identity"], "name": "Second Edit IX"}}
    resp = c.put(f"/api/v1/config?base={base}", json=second, headers=h)
    assert resp.status_code == 409, resp.get_json()
    assert "changed since you read it" in resp.get_json()["error"]
    assert "identity.name" in resp.get_json()["error"]
    assert yaml.safe_load(RevisionStore(configured).latest().config)["identity"]["name"] \
        == "First Edit IX", "nothing of the refused change was applied"
    bad = c.put("/api/v1/config?base=latest", json=second, headers=h)
    assert bad.status_code == 400 and "base:" in bad.get_json()["error"]


def test_a_change_that_conflicts_with_one_applied_since_cannot_be_applied(client, configured):
    edit = {**NEW_MEMBER, "name": "Reef Networks Renamed"}
    page = client.get("/members/2/edit")
    mine = client.post("/members/2/edit", data={**edit, "asn": "64498", "action": "save",
                                                 "csrf_token": csrf(page.data)})
    assert mine.status_code == 302, mine.data[:1500]
    review = client.get(mine.headers["Location"]).data.decode()
    fields = form_fields(review, "/changes/apply")
    # meanwhile another change renames the same member differently
    data = yaml.safe_load(RevisionStore(configured).latest().config)
    data["members"][2]["name"] = "Reef Networks Elsewhere"
    assert build_pipeline(configured).run(yaml.safe_dump(data), author="other").ok
    again = client.post("/changes/apply", data=fields, follow_redirects=True).data.decode()
    assert "both change the same settings" in again and "members[asn=64498].name" in again
    assert 'action="/changes/apply"' not in again, "no Apply for a change that conflicts"
    assert RevisionStore(configured).latest().comment != "member edit AS64498"
