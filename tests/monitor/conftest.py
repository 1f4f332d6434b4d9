"""The lab shared by the monitor tests: example config with an admin, applied in a lab."""

from __future__ import annotations

import pytest
import yaml

from appliance.config.loader import load_config_text
from appliance.web.accounts import hash_password
from labkit.netlab import applied_lab


@pytest.fixture
def lab(root_required, tmp_path, example_text):
    data = yaml.safe_load(example_text)
    data["admin_users"] = [{"name": "alice", "password_hash": hash_password("monitor pass phrase")}]
    text = yaml.safe_dump(data)
    cfg = load_config_text(text)
    with applied_lab(tmp_path, text) as state:
        yield cfg, state, tmp_path
