"""Issue 16 item 9: /metrics is not open to anyone.

It follows the looking glass (public: open), else it needs a login, an API token, or a client
in services.metrics.allowed_networks; before setup nobody reads it.
"""

from __future__ import annotations

import pytest
import yaml

from appliance.box import build_pipeline
from appliance.web import create_app
from appliance.web.accounts import hash_password
from appliance.web.api import tokens

from .conftest import ADMIN, PASSWORD, csrf


def _box(tmp_path, example_text, *, public=False, networks=()):
    data = yaml.safe_load(example_text)
    data["admin_users"] = [{"name": ADMIN, "password_hash": hash_password(PASSWORD)}]
    data["services"] = {**(data.get("services") or {}), "looking_glass": {"public": public},
                        "metrics": {"allowed_networks": list(networks)}}
    out = build_pipeline(tmp_path).run(yaml.safe_dump(data), author="t")
    assert out.ok, out.error
    return tmp_path


def _refused(resp):
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert "services.metrics.allowed_networks" in resp.get_data(as_text=True)
    assert "ixp_config_revision" not in resp.get_data(as_text=True)


def test_nobody_reads_metrics_before_setup(tmp_path, example_text):
    _refused(create_app(tmp_path).test_client().get("/metrics"))
    # a first config from the CLI, no admin yet: still closed
    assert build_pipeline(tmp_path).run(example_text, author="t").ok
    _refused(create_app(tmp_path).test_client().get("/metrics"))


def test_private_glass_metrics_need_a_login_or_a_token(tmp_path, example_text):
    state = _box(tmp_path, example_text)
    client = create_app(state).test_client()
    _refused(client.get("/metrics"))
    _refused(client.get("/metrics", headers={"Authorization": "Bearer ixp_nope_nope"}))
    token = tokens.create(state, "prometheus", ADMIN, scope="read")
    resp = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200 and "ixp_config_revision" in resp.get_data(as_text=True)
    page = client.get("/login")
    client.post("/login", data={"name": ADMIN, "password": PASSWORD,
                                "csrf_token": csrf(page.data)})
    assert client.get("/metrics").status_code == 200


@pytest.mark.parametrize(("addr", "status"), [("192.0.2.5", 200), ("192.0.2.99", 401),
                                              ("::ffff:192.0.2.6", 200),
                                              ("2001:db8:99::1", 200), ("2001:db8:98::1", 401)])
def test_scraper_networks_may_read(tmp_path, example_text, addr, status):
    state = _box(tmp_path, example_text, networks=["192.0.2.0/28", "2001:db8:99::/48"])
    resp = create_app(state).test_client().get("/metrics", environ_base={"REMOTE_ADDR": addr})
    assert resp.status_code == status


def test_public_glass_opens_metrics(tmp_path, example_text):
    state = _box(tmp_path, example_text, public=True)
    resp = create_app(state).test_client().get("/metrics")
    assert resp.status_code == 200 and "ixp_members" in resp.get_data(as_text=True)
