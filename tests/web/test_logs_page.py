"""The Logs page: the box's journal in the browser, for admins only, escaped, downloadable;
off the image it reads nothing and says why. The journal itself is faked (``Privileged.journal``
is what asks the helper); the helper's side is tested in tests/apply_service."""

from __future__ import annotations

import re

import pytest
import yaml

from appliance.apply_service import client as helper_client
from appliance.box import build_pipeline
from appliance.platform import journal
from appliance.web import create_app, draft
from appliance.web.accounts import hash_password

from .conftest import ADMIN, PASSWORD, logged_in

VIEWER, MEMBER, OTHER_PASSWORD = "bob", "reef", "another pass phrase 42"
LINES = ("2026-12-02T10:00:00+0000 box ixpctl[812]: <script>alert(1)</script> & done\n"
         "2026-12-02T10:00:01+0000 box bird[901]: Réseau 東京 up\n")


@pytest.fixture
def state(tmp_path, example_text):
    """The example with an admin, a viewer and a member account, committed."""
    data = yaml.safe_load(example_text)
    asn = data["members"][0]["asn"]
    data["admin_users"] = [
        {"name": ADMIN, "password_hash": hash_password(PASSWORD)},
        {"name": VIEWER, "password_hash": hash_password(OTHER_PASSWORD), "role": "viewer"},
        {"name": MEMBER, "password_hash": hash_password(OTHER_PASSWORD), "role": "member",
         "asn": asn},
    ]
    out = build_pipeline(tmp_path).run(yaml.safe_dump(data), author="t", comment="first")
    assert out.ok, out.error
    return tmp_path


@pytest.fixture
def asked(monkeypatch) -> list[tuple]:
    """The journal as the helper would read it on the image; what the page asked for."""
    calls: list[tuple] = []

    def fake(self, unit: str, lines: int, priority: str | None) -> journal.Lines:
        calls.append((unit, lines, priority))
        return journal.Lines(LINES, journal.argv(unit, lines, priority))
    monkeypatch.setattr(helper_client.Privileged, "journal", fake)
    return calls


def test_only_admins_open_the_logs(state, asked) -> None:
    anonymous = create_app(state).test_client()
    gone = anonymous.get("/logs")
    assert gone.status_code == 302 and "/login" in gone.headers["Location"]
    assert anonymous.get("/logs/download").status_code == 302
    for name in (VIEWER, MEMBER):
        other = logged_in(state, name, OTHER_PASSWORD)
        for path in ("/logs", "/logs/download"):
            refused = other.get(path)
            assert refused.status_code == 403, (name, path)
        assert "Only an admin account may open this page." in refused.get_data(as_text=True)
        home = other.get("/members" if name == VIEWER else "/member", follow_redirects=True)
        assert home.status_code == 200 and 'href="/logs"' not in home.get_data(as_text=True)
    assert asked == [], "the journal was read for someone who may not see it"
    admin = logged_in(state)
    assert 'href="/logs"' in admin.get("/").get_data(as_text=True)


def test_the_lines_are_shown_escaped(state, asked) -> None:
    page = logged_in(state).get("/logs?unit=ixp-bird&lines=50&priority=warning")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert asked == [("ixp-bird", 50, "warning")]
    pre = re.search(r'<pre id="log-lines">(.*?)</pre>', text, re.S)
    assert pre, text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; done" in pre.group(1)
    assert "<script>" not in text
    assert "Réseau 東京 up" in pre.group(1)
    # the form keeps what was asked, the download link asks the same
    assert '<option value="ixp-bird" selected>' in text
    assert '<option value="warning" selected>' in text and 'value="50"' in text
    assert 'href="/logs/download?unit=ixp-bird&amp;lines=50&amp;priority=warning"' in text


def test_the_defaults_are_every_service_500_lines_every_level(state, asked) -> None:
    assert logged_in(state).get("/logs").status_code == 200
    assert asked == [("all", 500, None)]


def test_the_download_is_a_text_file_named_for_the_box_and_the_time(state, asked) -> None:
    resp = logged_in(state).get("/logs/download?unit=ixp-web&lines=20&priority=")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "text/plain; charset=utf-8"
    disposition = resp.headers["Content-Disposition"]
    assert re.fullmatch(r'attachment; filename="ixp-logs-[A-Za-z0-9.-]+-\d{8}T\d{6}Z\.txt"',
                        disposition), disposition
    body = resp.get_data(as_text=True)
    assert body.endswith(LINES)  # as journalctl wrote them: a text file escapes nothing
    assert "# journalctl --no-pager -o short-iso -n 20 -u ixp-web.service\n" in body
    assert asked == [("ixp-web", 20, None)]


@pytest.mark.parametrize(("query", "words"), [
    ("unit=sshd", "Choose one of the services in the list."),
    ("unit=ixp-web%3B+reboot", "Choose one of the services in the list."),
    ("lines=abc", "Give a number of lines from 1 to 5000."),
    ("lines=0", "Give a number of lines from 1 to 5000."),
    ("lines=5001", "Give a number of lines from 1 to 5000."),
    ("lines=-3", "Give a number of lines from 1 to 5000."),
    ("lines=99999999999999999999", "Give a number of lines from 1 to 5000."),
    ("priority=7", "Choose one of the levels in the list."),
    ("priority=debug", "Choose one of the levels in the list."),
])
def test_bad_values_are_a_clear_error(state, asked, query, words) -> None:
    admin = logged_in(state)
    page = admin.get(f"/logs?{query}")
    assert page.status_code == 400
    text = page.get_data(as_text=True)
    assert words in text and 'aria-invalid="true"' in text
    assert 'id="log-lines"' not in text
    download = admin.get(f"/logs/download?{query}")
    assert download.status_code == 400 and words in download.get_data(as_text=True)
    assert asked == []


def test_a_helper_that_cannot_read_is_said_so(state, monkeypatch) -> None:
    def failing(self, unit, lines, priority):
        raise helper_client.HelperError("journalctl failed (1): No journal files were found.")
    monkeypatch.setattr(helper_client.Privileged, "journal", failing)
    admin = logged_in(state)
    page = admin.get("/logs")
    assert page.status_code == 503
    assert "No journal files were found." in page.get_data(as_text=True)
    download = admin.get("/logs/download")
    assert download.status_code == 409
    assert "No journal files were found." in download.get_data(as_text=True)


def test_off_the_image_nothing_is_read_and_the_page_says_why(state) -> None:
    """These tests are no image: the web (in-process, as root) reads no journal at all."""
    admin = logged_in(state)
    page = admin.get("/logs")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'id="logs-lab"' in text and "a lab or a developer machine has none" in text
    assert 'id="log-lines"' not in text and "/logs/download" not in text
    download = admin.get("/logs/download")
    assert download.status_code == 409
    assert "a lab or a developer machine has none" in download.get_data(as_text=True)


def test_the_logs_open_while_the_wizard_runs(tmp_path, asked) -> None:
    """A first apply that fails is when the logs are needed most: the admin the setup made
    opens them before any configuration is committed."""
    draft.save(tmp_path, {"admin": {"name": ADMIN, "password_hash": hash_password(PASSWORD)}})
    admin = logged_in(tmp_path)
    assert admin.get("/members").status_code == 302  # the rest: back to the wizard
    page = admin.get("/logs")
    assert page.status_code == 200 and 'id="log-lines"' in page.get_data(as_text=True)


def test_an_error_page_points_to_the_logs() -> None:
    from appliance.web import ERROR_TEXTS

    assert "Logs page" in str(ERROR_TEXTS[500]) and "journalctl" not in str(ERROR_TEXTS[500])
