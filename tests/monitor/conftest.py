"""The lab shared by the monitor tests: example config with an admin, applied in a lab."""

from __future__ import annotations

import pytest
import yaml

from appliance.box import build_pipeline
from appliance.config.loader import load_config_text
from appliance.lab.lab import lab_down, lab_up
from appliance.platform import netns
from appliance.platform.target import Target
from appliance.web.accounts import hash_password


@pytest.fixture
def lab(root_required, tmp_path, example_text):
    data = yaml.safe_load(example_text)
    data["admin_users"] = [{"name": "alice", "password_hash": hash_password("monitor pass phrase")}]
    text = yaml.safe_dump(data)
    cfg = load_config_text(text)
    prefix = netns.unique_prefix("ixt")
    state = lab_up(cfg, tmp_path, prefixes_per_member=1, prefix=prefix)
    try:
        assert build_pipeline(Target(tmp_path, state.appliance_netns)).run(text, author="t").ok
        yield cfg, state, tmp_path
    finally:
        lab_down(tmp_path)
        for name in netns.list_with_prefix(prefix):
            netns.remove(name)


