"""Which language a page is in: the footer's choice, the browser's, the box's default."""

from __future__ import annotations

import re

import yaml

from appliance.box import build_pipeline
from appliance.web import create_app
from appliance.web.accounts import hash_password

from .conftest import ADMIN, PASSWORD, csrf, form_fields, logged_in


def _lang(html: bytes) -> str:
    m = re.search(r'<html lang="([a-z]+)"', html.decode())
    assert m, "page has no <html lang>"
    return m.group(1)


def test_browser_language_is_used(configured):
    c = create_app(configured).test_client()
    assert _lang(c.get("/login", headers={"Accept-Language": "pt-BR,pt;q=0.9"}).data) == "pt"
    assert _lang(c.get("/login", headers={"Accept-Language": "es-419"}).data) == "es"
    assert _lang(c.get("/login", headers={"Accept-Language": "de-DE"}).data) == "en"


def test_box_default_applies_when_the_browser_asks_for_none_of_ours(tmp_path, example_text):
    data = yaml.safe_load(example_text)
    data["identity"]["language"] = "fr"
    data["admin_users"] = [{"name": ADMIN, "password_hash": hash_password(PASSWORD)}]
    assert build_pipeline(tmp_path).run(yaml.safe_dump(data), author="t").ok
    c = create_app(tmp_path).test_client()
    assert _lang(c.get("/login", headers={"Accept-Language": "de"}).data) == "fr"
    assert _lang(c.get("/login").data) == "fr"
    assert _lang(c.get("/login", headers={"Accept-Language": "es"}).data) == "es"


def test_footer_switch_is_kept_in_the_session_and_across_login(configured):
    c = create_app(configured).test_client()
    page = c.get("/login", headers={"Accept-Language": "en"})
    assert 'action="/language"' in page.get_data(as_text=True)
    resp = c.post("/language", data={"language": "es", "next": "/login",
                                     "csrf_token": csrf(page.data)})
    assert resp.status_code == 302 and resp.headers["Location"] == "/login"
    assert _lang(c.get("/login", headers={"Accept-Language": "fr"}).data) == "es"
    page = c.get("/login")
    resp = c.post("/login", data={"name": ADMIN, "password": PASSWORD,
                                  "csrf_token": csrf(page.data)})
    assert resp.status_code == 302
    assert _lang(c.get("/", headers={"Accept-Language": "fr"}).data) == "es"


def test_switch_needs_csrf_and_stays_on_the_box(configured):
    c = logged_in(configured)
    assert c.post("/language", data={"language": "fr", "next": "/"}).status_code == 400
    token = csrf(c.get("/").data)
    for outside in ("https://evil.example/", "//evil.example/", "javascript:alert(1)"):
        resp = c.post("/language", data={"language": "fr", "next": outside,
                                         "csrf_token": token})
        assert resp.headers["Location"] == "/", outside
    # an unknown language changes nothing
    c.post("/language", data={"language": "xx", "next": "/", "csrf_token": token})
    assert _lang(c.get("/", headers={"Accept-Language": "pt"}).data) == "fr"


def test_numbers_and_dates_follow_the_language(configured):
    from datetime import UTC, datetime

    from appliance.web.filters import human, localtime
    app = create_app(configured)
    moment = datetime(2026, 12, 1, 8, 2, 48, tzinfo=UTC)
    with app.test_request_context("/", headers={"Accept-Language": "fr"}):
        assert human(4321) == "4\u202f321"
        assert human(1_234_567, "B") == "1,23 MB"
        assert localtime(moment, tz=UTC) == "1 déc. 2026, 08:02:48 UTC"
    with app.test_request_context("/", headers={"Accept-Language": "pt"}):
        assert human(4321) == "4.321"
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert human(4321) == "4,321"
        assert localtime(moment, tz=UTC) == "2026-12-01 08:02:48 UTC"


def test_wizard_asks_for_the_box_language_and_it_becomes_the_default(tmp_path):
    import time

    from .test_wizard_flow import GOOD, _start, _submit
    c = _start(tmp_path)
    page = c.get("/wizard/identity", headers={"Accept-Language": "en"}).get_data(as_text=True)
    # each language offered by its own name, English chosen until someone changes it
    assert '<select id="f-language" name="language"' in page
    for code, name in (("fr", "Français"), ("es", "Español"), ("pt", "Português")):
        assert f'<option value="{code}" >{name}</option>' in page, code
    assert '<option value="en" selected>English</option>' in page
    bad = _submit(c, "identity", {**GOOD["identity"], "language": "de"})
    assert bad.status_code == 400 and b'id="f-language-err"' in bad.data
    assert _submit(c, "identity", {**GOOD["identity"], "language": "pt"}).status_code == 302
    assert 'value="pt" selected' in c.get("/wizard/identity").get_data(as_text=True)
    for step in ("management", "peering_lan", "route_server", "services", "snmp"):
        assert _submit(c, step, GOOD[step]).status_code == 302, step
    review = c.get("/wizard/review")
    job_url = c.post("/wizard/apply",
                     data=form_fields(review.data, "/wizard/apply")).headers["Location"]
    deadline = time.monotonic() + 30
    while not (job := c.get(job_url + ".json").get_json())["done"]:
        assert time.monotonic() < deadline, job
        time.sleep(0.1)
    assert job["outcome"]["ok"], job
    # a browser asking for none of ours now gets the box's language; one asking for ours, its own
    fresh = create_app(tmp_path).test_client()
    assert _lang(fresh.get("/login", headers={"Accept-Language": "de"}).data) == "pt"
    assert _lang(fresh.get("/login").data) == "pt"
    assert _lang(fresh.get("/login", headers={"Accept-Language": "fr"}).data) == "fr"
