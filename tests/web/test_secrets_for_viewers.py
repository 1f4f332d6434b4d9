"""Issue 16 item 1: every read path a viewer has hides every secret of the configuration."""

from __future__ import annotations

import json

import pytest
import yaml

from appliance.box import build_pipeline
from appliance.config.loader import config_from_data
from appliance.config.revisions import RevisionStore
from appliance.config.secrets import HIDDEN, is_secret, mask_data
from appliance.web.accounts import hash_password
from appliance.web.masking import mask_config_text, mask_secrets
from tests.web.conftest import ADMIN, PASSWORD, logged_in

VIEWER, VIEWER_PASSWORD = "bob", "viewer pass phrase 42"
MD5 = "m5-s3cret-pw"
AUTH = "auth phrase that is long"
PRIV = "priv-phrase-77"
COMMUNITY = "n0c-r3ad-only"
SECRETS = (MD5, AUTH, PRIV, COMMUNITY)


def _with_secrets(example_text: str) -> dict:
    data = yaml.safe_load(example_text)
    data["members"][0]["md5_password"] = MD5
    data["snmp"] = {
        "enabled": True,
        "users": [{"name": "nms", "auth_password": AUTH, "priv_password": PRIV}],
        "communities": [{"community": COMMUNITY, "allowed_networks": ["192.0.2.0/24"]}],
    }
    data["admin_users"] = [
        {"name": ADMIN, "password_hash": hash_password(PASSWORD)},
        {"name": VIEWER, "password_hash": hash_password(VIEWER_PASSWORD), "role": "viewer"},
    ]
    return data


@pytest.fixture
def secret_state(tmp_path, example_text):
    data = _with_secrets(example_text)
    out = build_pipeline(tmp_path).run(yaml.safe_dump(data), author="t", comment="with secrets")
    assert out.ok, out.error
    return tmp_path


def _login(state, name, password):
    return logged_in(state, name, password)


def _leaks(text: str) -> list[str]:
    return [s for s in (*SECRETS, "$argon2id$") if s in text]


@pytest.mark.parametrize("path", ["/api/v1/members", "/api/v1/members/{asn}", "/api/v1/config",
                                  "/api/v1/revisions/1"])
def test_viewer_reads_no_secret_through_the_api(secret_state, example_text, path):
    asn = yaml.safe_load(example_text)["members"][0]["asn"]
    viewer = _login(secret_state, VIEWER, VIEWER_PASSWORD)
    resp = viewer.get(path.format(asn=asn))
    assert resp.status_code == 200
    text = resp.get_data(as_text=True)
    assert _leaks(text) == []
    assert HIDDEN in text


def test_admin_still_reads_the_member_password(secret_state, example_text):
    asn = yaml.safe_load(example_text)["members"][0]["asn"]
    admin = _login(secret_state, ADMIN, PASSWORD)
    assert admin.get(f"/api/v1/members/{asn}").get_json()[0]["md5_password"] == MD5


def test_viewer_pages_show_no_secret(secret_state):
    viewer = _login(secret_state, VIEWER, VIEWER_PASSWORD)
    for path in ("/members", "/members/0/edit", "/history", "/history/diff?a=1",
                 "/participants.json", "/api/v1/ixf/member-export", "/"):
        resp = viewer.get(path)
        assert resp.status_code == 200, path
        assert _leaks(resp.get_data(as_text=True)) == [], path


FOLDED = """\
snmp:
  users:
  - name: nms
    auth_password: >-
      auth phrase
      that is long
"""


def test_folded_yaml_is_masked_on_its_data():
    # Line-by-line masking sees "auth_password: >-" and leaves the folded value's lines.
    assert "auth phrase" in mask_secrets(FOLDED)
    masked = mask_config_text(FOLDED)
    assert "auth phrase" not in masked and "that is long" not in masked
    assert yaml.safe_load(masked)["snmp"]["users"][0]["auth_password"] == HIDDEN


def test_history_diff_hides_a_folded_secret(secret_state, example_text):
    data = _with_secrets(example_text)
    cfg = config_from_data(data)
    text = yaml.safe_dump(cfg.model_dump(mode="json", exclude_defaults=True), sort_keys=False)
    text = text.replace(f"auth_password: {AUTH}",
                        "auth_password: >-\n      auth phrase\n      that is long")
    assert config_from_data(yaml.safe_load(text)).snmp.users[0].auth_password == AUTH
    RevisionStore(secret_state).commit(text, "t", "folded")
    viewer = _login(secret_state, VIEWER, VIEWER_PASSWORD)
    for path in ("/history/diff?a=1", "/api/v1/revisions/2"):
        body = viewer.get(path).get_data(as_text=True)
        assert "auth phrase" not in body and "that is long" not in body, path


def test_one_function_decides_and_covers_every_secret_field(example_text):
    data = _with_secrets(example_text)
    dumped = json.dumps(mask_data(config_from_data(data).model_dump(mode="json")))
    assert _leaks(dumped) == []
    assert is_secret("members.md5_password") and is_secret("snmp.users[0].auth_password")
    assert not is_secret("members.name") and not is_secret("snmp.communities")
