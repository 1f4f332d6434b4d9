"""Issue 16 item 6 and the setup race of item 9: the first-boot setup opens once, for one person.

A configuration that removes the last admin is refused; a setup session is bound to the
current code and expires; of two people creating the first admin, only the first succeeds.
"""

from __future__ import annotations

import threading

import yaml

from appliance.box import build_pipeline
from appliance.config.revisions import RevisionStore
from appliance.web import accounts, create_app, draft, secrets_store
from appliance.web import setup as setup_mod

from .conftest import csrf

PW = "a long enough pass phrase"


def _with_code(app, state):
    c = app.test_client()
    page = c.get("/setup")
    assert page.status_code == 200
    resp = c.post("/setup", data={"code": secrets_store.setup_code(state),
                                  "csrf_token": csrf(page.data)})
    assert resp.headers["Location"].endswith("/setup/admin")
    return c


def _create(c, name):
    page = c.get("/setup/admin")
    assert page.status_code == 200, page.headers.get("Location")
    return c.post("/setup/admin", data={"name": name, "password": PW, "password2": PW,
                                        "csrf_token": csrf(page.data)})


def test_a_config_removing_the_last_admin_is_refused(configured, example_text):
    out = build_pipeline(configured).run(example_text, author="t", comment="no admins")
    assert not out.ok and out.stage == "validate"
    assert [i.path for i in out.issues] == ["admin_users"]
    assert "keep at least one admin_users entry with role admin" in out.issues[0].message
    viewers_only = yaml.safe_load(example_text)
    viewers_only["admin_users"] = [{**yaml.safe_load(RevisionStore(configured).latest().config)
                                    ["admin_users"][0], "role": "viewer"}]
    assert not build_pipeline(configured).run(yaml.safe_dump(viewers_only), author="t").ok
    assert accounts.setup_done(configured)


def test_a_first_config_without_admins_still_applies(tmp_path, example_text):
    # what `ixpctl apply` does on a fresh box before the wizard ran
    assert build_pipeline(tmp_path).run(example_text, author="t").ok
    renamed = yaml.safe_load(example_text)
    renamed["identity"]["name"] += " (renamed)"
    second = build_pipeline(tmp_path).run(yaml.safe_dump(renamed), author="t")
    assert second.ok and second.revision.id == 2
    assert create_app(tmp_path).test_client().get("/setup").status_code == 200


def test_setup_never_reopens_once_an_admin_existed(configured, example_text):
    # a revision without admins that got past the pipeline (written by hand, say)
    RevisionStore(configured).commit(example_text, "t", "no admins")
    assert not accounts.accounts(configured)
    c = create_app(configured).test_client()
    for path in ("/setup", "/setup/admin"):
        resp = c.get(path)
        assert resp.status_code == 409, path
        assert "revision 1 had an admin" in resp.get_data(as_text=True)


def test_setup_session_is_bound_to_the_current_code(tmp_path):
    app = create_app(tmp_path)
    c = _with_code(app, tmp_path)
    secrets_store.retire_setup_code(tmp_path)  # a new code replaces the one typed
    secrets_store.setup_code(tmp_path)
    resp = c.get("/setup/admin")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/setup")
    assert not accounts.accounts(tmp_path)


def test_setup_session_expires(tmp_path, monkeypatch):
    app = create_app(tmp_path)
    c = _with_code(app, tmp_path)
    start = setup_mod._clock()
    monkeypatch.setattr(setup_mod, "_clock", lambda: start + setup_mod.SETUP_SECONDS + 1)
    resp = c.get("/setup/admin")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/setup")
    monkeypatch.setattr(setup_mod, "_clock", lambda: start + 60)
    assert _create(_with_code(app, tmp_path), "carol").status_code == 302
    assert [a.name for a in accounts.accounts(tmp_path)] == ["carol"]


def test_two_people_creating_the_first_admin(tmp_path, monkeypatch):
    app = create_app(tmp_path)
    first, second = _with_code(app, tmp_path), _with_code(app, tmp_path)
    page_first = first.get("/setup/admin")
    hashing, release = threading.Event(), threading.Event()
    real_hash = accounts.hash_password

    def slow_hash(password):
        # the first person's request pauses after every check, before writing the draft
        if threading.current_thread().name == "first":
            hashing.set()
            assert release.wait(30)
        return real_hash(password)

    monkeypatch.setattr(accounts, "hash_password", slow_hash)
    results = {}

    def post_first():
        results["first"] = first.post("/setup/admin", data={
            "name": "alice", "password": PW, "password2": PW,
            "csrf_token": csrf(page_first.data)})

    t = threading.Thread(target=post_first, name="first")
    t.start()
    assert hashing.wait(30)
    assert _create(second, "bob").headers["Location"].endswith("/wizard/identity")
    release.set()
    t.join(30)
    assert results["first"].headers["Location"].endswith("/login")
    assert draft.load(tmp_path)["admin"]["name"] == "bob"
    # the one who lost is not logged in as anybody
    assert first.get("/wizard/identity").headers["Location"].startswith("/login")
