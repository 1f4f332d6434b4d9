"""Web fixtures: a fresh app on a temporary state dir, and a logged-in client."""

from __future__ import annotations

import re
import time

import pytest
import yaml

from appliance.box import build_pipeline
from appliance.web import create_app
from appliance.web.accounts import hash_password

from ..conftest import form_fields  # noqa: F401  (the web tests import it from here)

ADMIN, PASSWORD = "alice", "correct horse battery staple"


def csrf(html: bytes | str) -> str:
    """The CSRF token of the first form on a page."""
    text = html.decode() if isinstance(html, bytes) else html
    m = re.search(r'name="csrf_token" value="([^"]+)"', text)
    assert m, "page has no CSRF token"
    return m.group(1)


@pytest.fixture
def configured(tmp_path, example_text):
    """A state dir with the example config and an admin committed (setup done)."""
    data = yaml.safe_load(example_text)
    data["admin_users"] = [{"name": ADMIN, "password_hash": hash_password(PASSWORD)}]
    out = build_pipeline(tmp_path).run(yaml.safe_dump(data), author="t", comment="first light")
    assert out.ok, out.error
    return tmp_path


def logged_in(state_dir, name: str = ADMIN, password: str = PASSWORD):
    """A test client of a fresh app on ``state_dir``, logged in through the login form."""
    c = create_app(state_dir).test_client()
    page = c.get("/login")
    resp = c.post("/login", data={"name": name, "password": password,
                                  "csrf_token": csrf(page.data)})
    assert resp.status_code == 302, f"login as {name} failed: HTTP {resp.status_code}"
    return c


@pytest.fixture
def client(configured):
    """A logged-in test client."""
    return logged_in(configured)


def wait_job(client, url: str, timeout: float = 30) -> dict:
    """Poll an apply job's JSON (``url`` + ".json") until it is done; the job."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(url + ".json").get_json()
        if job["done"]:
            return job
        time.sleep(0.05)
    raise AssertionError("the re-apply did not finish")
