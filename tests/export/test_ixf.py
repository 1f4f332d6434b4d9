"""The IX-F Member Export validates against the Euro-IX schema 1.0 (vendored in fixtures)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime

import jsonschema
import pytest
import yaml

from appliance.box import build_pipeline
from appliance.config.generate import synthetic_config
from appliance.config.loader import config_from_data, load_config_text
from appliance.export.ixf import member_export
from appliance.web import create_app

from ..conftest import EXAMPLE, ROOT

SCHEMA = json.loads((ROOT / "tests" / "fixtures" / "ixf" /
                     "ixp-member-list-1.0.schema.json").read_text())
VALIDATOR = jsonschema.Draft4Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
WHEN = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _valid(doc):
    errors = sorted(VALIDATOR.iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_example_export_is_valid_and_complete(example_text):
    cfg = load_config_text(example_text)
    doc = member_export(cfg, WHEN)
    _valid(doc)
    assert doc["timestamp"] == "2026-11-23T12:00:00Z"
    ixp = doc["ixp_list"][0]
    assert ixp["shortname"] == "EIIX" and ixp["vlan"][0]["ipv4"]["mask_length"] == 24
    members = {m["asnum"]: m for m in doc["member_list"]}
    assert set(members) == {m.asn for m in cfg.members}
    tel = members[64496]["connection_list"][0]["vlan_list"][0]
    assert tel["ipv4"] == {"address": "203.0.113.10", "routeserver": True, "max_prefix": 200,
                           "as_macro": "AS-ISLANDTEL"}
    assert tel["ipv6"]["address"] == "2001:db8:eeee::10"
    assert "mac_addresses" not in json.dumps(doc), "MACs stay out of the public export"


def test_export_is_pure():
    cfg = synthetic_config(50)
    assert member_export(cfg, WHEN) == member_export(cfg, WHEN)
    _valid(member_export(cfg, WHEN))


def test_member_with_two_routers_appears_once(example_text):
    data = yaml.safe_load(example_text)
    second = {**data["members"][0], "ports": ["ixp9"], "macs": ["02:00:5e:10:00:99"],
              "ipv4": ["203.0.113.99"], "ipv6": ["2001:db8:eeee::99"], "quarantine": True}
    data["members"].append(second)
    doc = member_export(config_from_data(data), WHEN)
    _valid(doc)
    tel = [m for m in doc["member_list"] if m["asnum"] == 64496]
    assert len(tel) == 1 and len(tel[0]["connection_list"]) == 2
    assert tel[0]["connection_list"][1]["state"] == "connected"


@pytest.mark.parametrize("path", ["/participants.json", "/api/v1/ixf/member-export"])
def test_public_endpoints(tmp_path, example_text, path):
    c = create_app(tmp_path).test_client()
    assert c.get(path).status_code == 404  # nothing committed yet
    build_pipeline(tmp_path).run(example_text, author="t")
    resp = c.get(path)  # no login needed: the export is public by convention
    assert resp.status_code == 200 and resp.headers["Access-Control-Allow-Origin"] == "*"
    _valid(resp.get_json())


def test_cli_export(tmp_path):
    out = subprocess.run([sys.executable, "-m", "appliance.cli", "export", "ixf", "-c",
                          str(EXAMPLE)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    _valid(json.loads(out.stdout))
    empty = subprocess.run([sys.executable, "-m", "appliance.cli", "export", "ixf",
                            "--state-dir", str(tmp_path)], capture_output=True, text=True,
                           timeout=30)
    assert empty.returncode == 1 and "no configuration committed" in empty.stderr
