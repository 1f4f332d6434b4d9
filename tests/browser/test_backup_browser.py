"""An admin downloads a backup in a real browser; a freshly flashed box is restored from it
in the setup, a wrong passphrase first (issue 21 item 7)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml
from werkzeug.serving import make_server

from appliance.box import build_pipeline
from appliance.config.revisions import RevisionStore
from appliance.web import create_app, secrets_store
from appliance.web.accounts import hash_password

from .conftest import log_in

ADMIN, PASSWORD = "noc", "island exchange first light"
PHRASE = "carry this on a stick"


@contextmanager
def serving(state_dir: Path) -> Iterator[str]:
    """The web UI of ``state_dir`` on a free loopback port (no lab: a config-only box)."""
    server = make_server("127.0.0.1", 0, create_app(state_dir), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)


def test_download_a_backup_and_restore_it_on_a_fresh_box(browser_page, shots, tmp_path,
                                                         example_text):
    old = tmp_path / "old"
    data = yaml.safe_load(example_text)
    data["admin_users"] = [{"name": ADMIN, "password_hash": hash_password(PASSWORD)}]
    assert build_pipeline(old).run(yaml.safe_dump(data), author="noc", comment="first light").ok
    page = browser_page
    submit_backup = "form:has(#passphrase2) button[type=submit]"
    submit_restore = "form:has(#backup) button[type=submit]"

    with serving(old) as url:
        log_in(page, url, ADMIN, PASSWORD)
        page.click("nav >> text=Backup")
        assert page.url.endswith("/backup")
        page.fill("#passphrase", PHRASE)
        page.fill("#passphrase2", "a typo in it")
        page.click(submit_backup)
        assert "The two passphrases differ." in page.inner_text("#passphrase2-err")
        page.fill("#passphrase", PHRASE)
        page.fill("#passphrase2", PHRASE)
        shots(page, "backup-page")
        with page.expect_download() as info:
            page.click(submit_backup)
        download = info.value
        assert download.suggested_filename.startswith("EIIX-backup-")
        assert download.suggested_filename.endswith(".ixpbackup")
        saved = tmp_path / download.suggested_filename
        download.save_as(saved)
        page.context.clear_cookies()

    fresh = tmp_path / "fresh"
    fresh.mkdir()
    with serving(fresh) as url:
        page.goto(url)
        assert page.url.endswith("/setup")
        page.fill("#code", secrets_store.setup_code(fresh))
        page.click("button[type=submit]")
        assert page.url.endswith("/setup/admin")
        page.click("#restore-offer a")
        assert page.url.endswith("/setup/restore")
        page.set_input_files("#backup", str(saved))
        page.fill("#passphrase", "not the passphrase")
        page.click(submit_restore)
        assert "passphrase is wrong" in page.inner_text("#restore-error")
        assert not RevisionStore(fresh).ids(), "a refused restore changes nothing"
        shots(page, "restore-wrong-passphrase")
        page.set_input_files("#backup", str(saved))
        page.fill("#passphrase", PHRASE)
        page.click(submit_restore)
        assert "restored from a backup made by ixp-appliance" in page.inner_text("#restored")
        shots(page, "restored")
        assert RevisionStore(fresh).get(1).config == RevisionStore(old).get(1).config
        page.click("text=Log in with a restored account")
        log_in(page, url, ADMIN, PASSWORD)
        assert "/login" not in page.url and "/setup" not in page.url
