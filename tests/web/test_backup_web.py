"""The Backup page and the restore the setup offers on a freshly flashed box."""

from __future__ import annotations

import io

import yaml

from appliance.backup import archive
from appliance.backup.restore import create
from appliance.box import build_pipeline
from appliance.config.revisions import RevisionStore
from appliance.web import create_app, secrets_store
from appliance.web.accounts import hash_password
from tests.web.conftest import ADMIN, PASSWORD, csrf, logged_in

PHRASE = "a long backup passphrase"


def test_admin_downloads_a_plain_and_an_encrypted_backup(client):
    page = client.get("/backup")
    assert page.status_code == 200 and b"Download a backup" in page.data
    assert b'href="/backup"' in page.data, "the navigation links the page"
    resp = client.post("/backup", data={"csrf_token": csrf(page.data)})
    assert resp.status_code == 200
    assert resp.headers["Content-Disposition"].startswith('attachment; filename="EIIX-backup-')
    assert archive.read(resp.data).manifest["latest_revision"] == 1
    resp = client.post("/backup", data={"csrf_token": csrf(page.data), "passphrase": PHRASE,
                                        "passphrase2": PHRASE})
    assert resp.data.startswith(archive.MAGIC)
    assert archive.read(resp.data, PHRASE).encrypted


def test_passphrase_mistakes_are_shown_on_the_form(client):
    token = csrf(client.get("/backup").data)
    resp = client.post("/backup", data={"csrf_token": token, "passphrase": PHRASE,
                                        "passphrase2": "something else"})
    assert resp.status_code == 400 and b"The two passphrases differ." in resp.data
    resp = client.post("/backup", data={"csrf_token": token, "passphrase": "short",
                                        "passphrase2": "short"})
    assert resp.status_code == 400 and b"at least 8 characters" in resp.data


def test_a_viewer_cannot_download_a_backup(tmp_path, example_text):
    data = yaml.safe_load(example_text)
    data["admin_users"] = [{"name": ADMIN, "password_hash": hash_password(PASSWORD)},
                           {"name": "victor", "password_hash": hash_password(PASSWORD),
                            "role": "viewer"}]
    assert build_pipeline(tmp_path).run(yaml.safe_dump(data), author="t").ok
    c = logged_in(tmp_path, "victor")
    page = c.get("/backup")
    assert b"Only admins may download a backup" in page.data
    assert c.post("/backup", data={"csrf_token": csrf(page.data)}).status_code == 403


def _proven_client(state):
    """A client on a fresh box that has typed the setup code."""
    c = create_app(state).test_client()
    page = c.get("/setup")
    resp = c.post("/setup", data={"code": secrets_store.setup_code(state),
                                  "csrf_token": csrf(page.data)})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/setup/admin")
    return c


def _upload(c, raw: bytes, passphrase: str = ""):
    page = c.get("/setup/restore")
    assert page.status_code == 200
    return c.post("/setup/restore", content_type="multipart/form-data", data={
        "csrf_token": csrf(page.data), "passphrase": passphrase,
        "backup": (io.BytesIO(raw), "box.ixpbackup")})


def test_restore_is_offered_after_the_setup_code_and_needs_it(configured, tmp_path):
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    anonymous = create_app(fresh).test_client()
    resp = anonymous.get("/setup/restore")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/setup")
    c = _proven_client(fresh)
    assert b'href="/setup/restore"' in c.get("/setup/admin").data


def test_restore_in_the_setup_then_log_in_with_the_restored_account(configured, tmp_path):
    raw = create(configured, PHRASE)
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    c = _proven_client(fresh)
    before = sorted(p.name for p in fresh.rglob("*"))
    for bad, phrase, says in ((raw, "wrong passphrase!", b"passphrase is wrong"),
                              (raw[: len(raw) // 2], PHRASE, b"truncated"),
                              (b"GIF89a not a backup", "", b"not an ixp-appliance backup"),
                              (b"", "", b"Choose the backup file")):
        resp = _upload(c, bad, phrase)
        assert resp.status_code == 400 and says in resp.data, resp.data[:400]
    assert sorted(p.name for p in fresh.rglob("*")) == before, "a refused restore changes nothing"
    assert not RevisionStore(fresh).ids()

    resp = _upload(c, raw, PHRASE)
    assert resp.status_code == 200, resp.data[:600]
    assert b"restored from a backup made by ixp-appliance" in resp.data
    assert RevisionStore(fresh).get(1).config == RevisionStore(configured).get(1).config
    # the setup is over: the restored admin logs in, the setup pages lead to the login
    assert create_app(fresh).test_client().get("/setup").headers["Location"].endswith("/login")
    logged_in(fresh)
