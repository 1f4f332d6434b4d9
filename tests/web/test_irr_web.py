"""IRR filtering must not fail open silently: the pages say which members have no IRR data,
and the data can be uploaded or fetched right there (never from the Internet in tests)."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

import pytest
from flask import g, render_template_string

from appliance.box import build_pipeline
from appliance.config.committed import committed_config
from appliance.web import create_app, irr_status

from ..conftest import ROOT
from .conftest import csrf, wait_job

FIXTURES = ROOT / "tests" / "fixtures" / "bird" / "irr"


def _irr_file(objects: list[str]) -> bytes:
    """The fixture cache's first entry, under the example members' object names."""
    sample = next(iter(json.loads((FIXTURES / "irr-cache.json").read_text()).values()))
    return json.dumps({o: sample for o in objects}).encode()


def _objects(state: Path) -> list[str]:
    from appliance.route_server.irr import irr_object
    return [irr_object(m) for m in committed_config(state).members]



def test_gaps_without_data_and_with_old_data(configured):
    cfg = committed_config(configured)
    gaps = irr_status.gaps(configured, cfg)
    assert {g_.asn for g_ in gaps} == {m.asn for m in cfg.members if m.route_server}
    assert all(g_.problem == "no IRR data" for g_ in gaps)
    irr_status.import_bytes(configured, _irr_file(_objects(configured)), "irr.json")
    assert irr_status.gaps(configured, cfg, now=datetime(2026, 11, 24, tzinfo=UTC)) == []
    old = irr_status.gaps(configured, cfg, now=datetime(2027, 3, 1, tzinfo=UTC))
    assert old and old[0].problem.startswith("IRR data ") and "days old" in old[0].problem


def test_members_page_warns_and_upload_fixes_it(client, configured):
    page = client.get("/members")
    html = page.data.decode()
    assert 'class="irr-warning" role="alert"' in html
    assert "IRR filtering is not protecting" in html and "no IRR data" in html
    assert 'action="/members/irr/import"' in html and "Fetch now" in html

    bad = client.post("/members/irr/import", data={
        "csrf_token": csrf(page.data), "irr_file": (BytesIO(b"not json"), "irr.json")},
        content_type="multipart/form-data", follow_redirects=True)
    assert b"not an IRR data file" in bad.data
    assert not irr_status.cache_path(configured).exists(), "a bad file changes nothing"

    resp = client.post("/members/irr/import", data={
        "csrf_token": csrf(page.data),
        "irr_file": (BytesIO(_irr_file(_objects(configured))), "irr.json")},
        content_type="multipart/form-data")
    assert "/changes/apply/" in resp.headers["Location"], "the route server is re-applied"
    assert wait_job(client, resp.headers["Location"])["outcome"]["ok"]
    assert b"IRR filtering is not protecting" not in client.get("/members").data


def test_member_edit_page_warns_for_that_member(client):
    html = client.get("/members/0/edit").data.decode()
    assert "this member has no IRR data" in html


def test_irr_warnings_available_to_every_template(configured):
    app = create_app(configured)
    with app.test_request_context("/"):
        app.preprocess_request()
        g.user = "alice"
        out = render_template_string('{% include "_irr_warning.html" ignore missing %}')
        one = render_template_string('{% set irr_asn = 64496 %}'
                                     '{% include "_irr_warning.html" %}')
        g.user = None
        anonymous = render_template_string('{% include "_irr_warning.html" %}')
    assert "IRR filtering is not protecting 5 members." in out
    assert "protecting 1 member." in one and "AS64496" in one and "AS64497" not in one
    assert "IRR" not in anonymous, "the public looking glass does not show it"


@pytest.fixture
def fake_bin(tmp_path, monkeypatch):
    """A PATH holding only the fake tools a test writes (no real bgpq4, no Internet); a test
    that re-applies puts the system's PATH after it (the fake bgpq4 still comes first)."""
    d = tmp_path / "bin"
    d.mkdir()
    monkeypatch.setenv("PATH", str(d))

    def write(name: str, script: str) -> None:
        p = d / name
        p.write_text("#!/bin/sh\n" + script)
        p.chmod(p.stat().st_mode | stat.S_IXUSR)
    return write


def test_fetch_without_bgpq4_says_so(client, fake_bin):
    page = client.get("/members")
    resp = client.post("/members/irr/fetch", data={"csrf_token": csrf(page.data)},
                       follow_redirects=True)
    assert b"bgpq4 is not installed on this box" in resp.data


def test_fetch_offline_says_so(client, configured, fake_bin):
    fake_bin("bgpq4", "echo 'Unable to resolve whois.radb.net' >&2\nexit 1\n")
    page = client.get("/members")
    resp = client.post("/members/irr/fetch", data={"csrf_token": csrf(page.data)},
                       follow_redirects=True)
    assert b"Could not fetch IRR data: is the box online?" in resp.data
    assert b"Unable to resolve whois.radb.net" in resp.data


def test_fetch_with_a_fake_bgpq4(client, configured, fake_bin, monkeypatch):
    asns = (FIXTURES / "bgpq4-asns.json").as_posix()
    v4 = (FIXTURES / "bgpq4-ipv4.json").as_posix()
    fake_bin("bgpq4", f'for a in "$@"; do case "$a" in -t) exec /bin/cat {asns};; '
             f'-4) exec /bin/cat {v4};; -6) echo \'{{"irr": []}}\'; exit 0;; esac; done\n'
             "exit 2\n")
    fake_dir = os.environ["PATH"]
    assert os.access(Path(fake_dir) / "bgpq4", os.X_OK)
    monkeypatch.setenv("PATH", fake_dir + os.pathsep + os.defpath + ":/usr/sbin:/sbin")
    import shutil
    assert shutil.which("bgpq4") == str(Path(fake_dir) / "bgpq4"), "never the real one"
    page = client.get("/members")
    resp = client.post("/members/irr/fetch", data={"csrf_token": csrf(page.data)})
    assert "/changes/apply/" in resp.headers["Location"]
    assert wait_job(client, resp.headers["Location"])["outcome"]["ok"]
    cache = json.loads(irr_status.cache_path(configured).read_text())
    assert set(cache) == set(_objects(configured))
    assert next(iter(cache.values()))["asns"] == [10001, 10011]


def test_wizard_review_offers_irr_upload(tmp_path, example_text):

    from .test_wizard_flow import _start
    assert build_pipeline(tmp_path).run(example_text, author="demo").ok
    c = _start(tmp_path)
    review = c.get("/wizard/review")
    html = review.data.decode()
    assert "No IRR data loaded yet" in html and "accepts them" in html
    assert 'action="/wizard/irr/import"' in html
    resp = c.post("/wizard/irr/import", data={
        "csrf_token": csrf(review.data),
        "irr_file": (BytesIO(_irr_file(_objects(tmp_path))), "irr.json")},
        content_type="multipart/form-data", follow_redirects=True)
    assert b"Imported IRR data for 5 object(s)" in resp.data
    assert b"No IRR data loaded yet" not in resp.data
