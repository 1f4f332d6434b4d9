"""The per-client rate limit: a burst from one address is cut down, not answered in full."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest

from appliance.platform import netns
from labkit.resolver import resolver_lab
from tests.dns.variants import FIXTURE_NAME, example_data, fixture_options

pytestmark = pytest.mark.netns
ROOT = Path(__file__).resolve().parents[2]


def _burst(ns: str, count: int) -> int:
    res = netns.run(ns, ["env", f"PYTHONPATH={ROOT}", sys.executable, "-m", "tests.dns.flood",
                         "203.0.113.53", FIXTURE_NAME, str(count)], timeout=60)
    return int(res.stdout.strip())


def test_a_burst_from_one_address_is_rate_limited(root_required, tool, tmp_path):
    tool("unbound", "unbound")
    opts = dataclasses.replace(fixture_options(), ip_ratelimit=5)
    with resolver_lab(example_data(), tmp_path, opts) as lab:
        member = lab.state.members[0].netns
        assert _burst(member, 1) == 1  # a single query is answered
        answered = _burst(lab.state.members[1].netns, 200)
        # unbound lets 1 in 10 through once over the limit; far from all 200 get an answer
        assert 0 < answered < 100, answered
