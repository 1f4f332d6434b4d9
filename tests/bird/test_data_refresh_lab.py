"""In the lab, the runner of ``ixpctl up`` refreshes the IRR data on the timer's schedule and the
running route server uses it: a member's route that was refused as not registered is accepted
once the member's new route object comes in, and the history says so. Real BIRD, real member
routers in namespaces; only bgpq4 and PeeringDB are fakes (tests/bird/refresh_fakes.py)."""

from __future__ import annotations

import json
import os
import time

import pytest
import yaml

from appliance.box import refresh_data
from appliance.config.committed import committed_config
from appliance.config.revisions import RevisionStore
from appliance.platform.target import Target
from appliance.route_server.status import route_server_sessions
from appliance.runner import Runner
from labkit.netlab import applied_lab
from tests.bird.refresh_fakes import FAKE_BIN, fake_peeringdb, irr_data
from tests.bird.test_data_refresh import _backdate


def _session(state_dir, asn: int, family: str) -> dict | None:
    cfg = committed_config(state_dir)
    for s in route_server_sessions(state_dir, cfg)["sessions"]:
        if s["asn"] == asn and s["family"] == family:
            return s
    return None


def _wait(what, check, timeout: float = 90):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.5)
    pytest.fail(f"{what} did not happen in {timeout} s (last: {last})")


@pytest.mark.netns
def test_the_lab_runner_refreshes_and_bird_uses_the_new_prefix_list(
        root_required, tmp_path, example_text, monkeypatch):
    data = irr_data(tmp_path)
    monkeypatch.setenv("PATH", f"{FAKE_BIN}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_BGPQ4_DATA", str(data))
    state_dir = tmp_path / "state"
    runner = None
    with fake_peeringdb() as pdb:
        cfg = yaml.safe_load(example_text)
        cfg["route_server"]["refresh"] = {"peeringdb_url": pdb.url}
        text = yaml.safe_dump(cfg)
        # member 0 (AS64496, AS-ISLANDTEL) announces 31.0.0.0/24, not in its IRR data yet
        with applied_lab(state_dir, text, "ixr") as lab:
            try:
                assert refresh_data(Target(state_dir, lab.appliance_netns)).ok
                first = RevisionStore(state_dir).latest().id
                runner = Runner(Target(state_dir, lab.appliance_netns), port=0, refresh_every=0.5)
                runner.start()
                refused = _wait("the session up with its route refused", lambda: (
                    s if (s := _session(state_dir, 64496, "ipv4")) and s["up"]
                    and s["filtered"] == 1 else None))
                assert refused["accepted"] == 0
                # the member registers its route object; half a day later the IRR is due again
                obj = json.loads((data / "AS-ISLANDTEL.json").read_text())
                obj["ipv4"].append({"prefix": "31.0.0.0/24", "exact": True})
                (data / "AS-ISLANDTEL.json").write_text(json.dumps(obj))
                _backdate(state_dir, 13)
                accepted = _wait("the route accepted after the runner's refresh", lambda: (
                    s if (s := _session(state_dir, 64496, "ipv4")) and s["accepted"] == 1
                    else None))
                assert accepted["filtered"] == 0
                # BIRD has the new list once the refresh's apply is done; its revision is committed
                # right after that: wait for it rather than read in between
                # right after that: wait for it rather than read in between. The runner may have
                # committed another refresh before it (e.g. PeeringDB's, due at its start), so
                # look at every revision since the first
                wanted = ("IRR data refreshed: AS64496 Island Telecom: IRR IPv4 prefixes added: "
                          "31.0.0.0/24")

                def irr_revision():
                    since = [r for r in RevisionStore(state_dir).list() if r.id > first]
                    return next((r for r in since if r.comment == wanted), None), since
                rev = _wait("the refresh's revision", lambda: irr_revision()[0])
                assert rev.author == "refresh", [(r.id, r.author, r.comment)
                                                 for r in irr_revision()[1]]
            finally:
                if runner is not None:
                    runner.stop()
