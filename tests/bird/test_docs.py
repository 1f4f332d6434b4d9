"""docs/route-server.md lists every reject reason and informational tag the templates use."""

from __future__ import annotations

import re
from pathlib import Path

from appliance.route_server.bogons import load_bogons
from appliance.route_server.communities import INFO_TAGS, LC_INFO, LC_REJECT, REJECT_REASONS
from appliance.route_server.render import render_bird
from tests.bird.configs import config, member

DOC = Path(__file__).resolve().parents[2] / "docs" / "route-server.md"


def test_every_reject_reason_is_documented():
    text = DOC.read_text()
    for r in REJECT_REASONS:
        assert f"| `(RS, {LC_REJECT}, {r.code})` | {r.key} |" in text, r.key
    for r in INFO_TAGS:
        assert f"| `(RS, {LC_INFO}, {r.code})` |" in text, r.key


def test_templates_use_only_documented_reasons():
    text = render_bird(config([member(1, 10001), member(2, 10002)]), load_bogons())
    used = {int(n) for n in re.findall(r"rs_reject\((\d+)\)", text)}
    assert used and used <= {r.code for r in REJECT_REASONS}
    tags = {int(n) for n in re.findall(r"rs_info\((\d+)\)", text)}
    assert tags and tags <= {r.code for r in INFO_TAGS}
