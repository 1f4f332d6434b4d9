"""First-boot protection, login, CSRF, throttling and session expiry."""

from __future__ import annotations

import time

from appliance.web import auth, create_app, secrets_store
from appliance.web import setup as setup_bp

from .conftest import ADMIN, PASSWORD, csrf


def _reset_throttles():
    for t in (setup_bp.throttle, auth.throttle, auth.source_throttle):
        t.clear()


def test_setup_code_is_required_and_checked(tmp_path):
    _reset_throttles()
    c = create_app(tmp_path).test_client()
    page = c.get("/setup")
    assert b"setup code" in page.data
    code = secrets_store.setup_code(tmp_path)
    assert (tmp_path / "web" / "setup-code").stat().st_mode & 0o777 == 0o600
    resp = c.post("/setup", data={"code": "WRONG-CODE-0000", "csrf_token": csrf(page.data)})
    assert resp.status_code == 401 and b"not the setup code" in resp.data
    # the admin page is closed without the code
    assert c.get("/setup/admin").headers["Location"].endswith("/setup")
    resp = c.post("/setup", data={"code": code.lower().replace("-", " "),
                                  "csrf_token": csrf(page.data)})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/setup/admin")


def test_setup_code_guessing_is_throttled(tmp_path):
    _reset_throttles()
    c = create_app(tmp_path).test_client()
    token = csrf(c.get("/setup").data)
    for _ in range(5):
        c.post("/setup", data={"code": "AAAA-AAAA-AAAA", "csrf_token": token})
    resp = c.post("/setup", data={"code": secrets_store.setup_code(tmp_path),
                                  "csrf_token": token})
    assert resp.status_code == 401 and b"Too many wrong codes" in resp.data
    _reset_throttles()


def test_forms_without_csrf_token_are_refused(tmp_path):
    c = create_app(tmp_path).test_client()
    resp = c.post("/setup", data={"code": secrets_store.setup_code(tmp_path)})
    assert resp.status_code == 400 and b"CSRF" in resp.data


def _to_admin_page(c, state_dir):
    page = c.get("/setup")
    c.post("/setup", data={"code": secrets_store.setup_code(state_dir),
                           "csrf_token": csrf(page.data)})
    return c.get("/setup/admin")


def test_admin_account_rules(tmp_path):
    _reset_throttles()
    c = create_app(tmp_path).test_client()
    page = _to_admin_page(c, tmp_path)
    token = csrf(page.data)
    weak = c.post("/setup/admin", data={"name": "admin", "password": "short",
                                        "password2": "short", "csrf_token": token})
    assert weak.status_code == 400 and b"at least 12 characters" in weak.data
    named = c.post("/setup/admin", data={"name": "admin", "password": "admin-is-my-password",
                                         "password2": "admin-is-my-password", "csrf_token": token})
    assert b"user name in the password" in named.data
    differ = c.post("/setup/admin", data={"name": "admin", "password": PASSWORD,
                                          "password2": PASSWORD + "x", "csrf_token": token})
    assert b"two passwords differ" in differ.data
    bad_name = c.post("/setup/admin", data={"name": "Root!", "password": PASSWORD,
                                            "password2": PASSWORD, "csrf_token": token})
    assert b"lower-case letters" in bad_name.data
    ok = c.post("/setup/admin", data={"name": ADMIN, "password": PASSWORD,
                                      "password2": PASSWORD, "csrf_token": token})
    assert ok.status_code == 302 and ok.headers["Location"].endswith("/wizard/identity")
    draft_file = tmp_path / "web" / "wizard-draft.json"
    assert draft_file.stat().st_mode & 0o777 == 0o600
    assert PASSWORD not in draft_file.read_text() and "$argon2id$" in draft_file.read_text()
    # once an admin exists, /setup no longer accepts anyone
    assert create_app(tmp_path).test_client().get("/setup").headers["Location"].endswith("/login")


def test_login_logout_and_open_redirect(configured):
    _reset_throttles()
    c = create_app(configured).test_client()
    page = c.get("/login")
    bad = c.post("/login", data={"name": ADMIN, "password": "nope", "csrf_token": csrf(page.data)})
    assert bad.status_code == 401 and b"Wrong user name or password" in bad.data
    ok = c.post("/login?next=//evil.example/x", data={"name": ADMIN, "password": PASSWORD,
                                                      "csrf_token": csrf(page.data)})
    assert ok.status_code == 302 and ok.headers["Location"] == "/"
    home = c.get("/")
    assert home.status_code == 200
    set_cookie = ok.headers.get("Set-Cookie", "")
    assert "HttpOnly" in set_cookie and "SameSite=Strict" in set_cookie
    out = c.post("/logout", data={"csrf_token": csrf(home.data)})
    assert out.headers["Location"].endswith("/login")
    assert c.get("/").headers["Location"].startswith("/login")


def test_login_guessing_is_throttled(configured):
    _reset_throttles()
    c = create_app(configured).test_client()
    token = csrf(c.get("/login").data)
    for _ in range(5):
        c.post("/login", data={"name": ADMIN, "password": "guess", "csrf_token": token})
    resp = c.post("/login", data={"name": ADMIN, "password": PASSWORD, "csrf_token": token})
    assert resp.status_code == 429 and b"Too many failed attempts" in resp.data
    assert int(resp.headers["Retry-After"]) > 0
    _reset_throttles()


def test_idle_session_expires(client):
    with client.session_transaction() as sess:
        sess["seen_at"] = int(time.time()) - auth.IDLE_SECONDS - 5
    assert client.get("/").headers["Location"].startswith("/login")


def test_wizard_is_closed_after_setup(client):
    assert client.get("/wizard/identity").headers["Location"] == "/"


def test_cookies_are_secure_behind_https(configured, monkeypatch):
    monkeypatch.setenv("IXP_HTTPS", "1")
    c = create_app(configured).test_client()
    page = c.get("/login", base_url="https://localhost")
    resp = c.post("/login", data={"name": ADMIN, "password": PASSWORD,
                                  "csrf_token": csrf(page.data)}, base_url="https://localhost",
                  headers={"Referer": "https://localhost/login"})
    assert resp.status_code == 302
    assert "Secure" in resp.headers.get("Set-Cookie", "")


def test_throttle_counts_each_client_behind_the_https_front(tmp_path, monkeypatch):
    _reset_throttles()
    monkeypatch.setenv("IXP_HTTPS", "1")
    c = create_app(tmp_path).test_client()
    token = csrf(c.get("/setup").data)
    stranger = {"X-Forwarded-For": "192.0.2.66"}
    for _ in range(5):
        c.post("/setup", data={"code": "AAAA-AAAA-AAAA", "csrf_token": token}, headers=stranger)
    blocked = c.post("/setup", data={"code": "AAAA-AAAA-AAAA", "csrf_token": token},
                     headers=stranger)
    assert b"Too many wrong codes" in blocked.data
    operator = c.post("/setup", data={"code": secrets_store.setup_code(tmp_path),
                                      "csrf_token": token},
                      headers={"X-Forwarded-For": "192.0.2.10"})
    assert operator.status_code == 302, "a stranger's guesses must not lock the operator out"
    _reset_throttles()


def test_forms_work_behind_the_https_front_without_a_referer(tmp_path, monkeypatch):
    # nginx sends X-Forwarded-Proto: https and browsers send no Referer (no-referrer policy):
    # the form must still be accepted.
    _reset_throttles()
    monkeypatch.setenv("IXP_HTTPS", "1")
    c = create_app(tmp_path).test_client()
    headers = {"X-Forwarded-For": "192.0.2.10", "X-Forwarded-Proto": "https"}
    token = csrf(c.get("/setup", headers=headers).data)
    resp = c.post("/setup", data={"code": secrets_store.setup_code(tmp_path),
                                  "csrf_token": token}, headers=headers)
    assert resp.status_code == 302
