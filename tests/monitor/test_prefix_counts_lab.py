"""In the lab with the real route server and member BIRDs: the collector records every
session's prefix counts, a filtered bogon shows as a step in them, and a public looking glass
shows the sessions, routes and counts to anonymous visitors without the MD5 password."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Callable

import pytest
import yaml

from appliance.box import build_pipeline
from appliance.monitor.collector import Collector
from appliance.monitor.store import SampleStore, samples_path
from appliance.pipeline.concern import ApplyContext
from appliance.platform.target import Target
from appliance.route_server import daemon
from appliance.route_server.daemon import running_pid
from appliance.web import create_app
from appliance.web.accounts import hash_password

from ..web.conftest import csrf
from .test_looking_glass_lab import _announce_bogon

pytestmark = pytest.mark.netns

SECRET = "lab-md5-never-shown"
V4 = "c64496_203_0_113_10"  # AS64496's IPv4 session


def _birdc_routes(socket: str, protocol: str) -> dict[str, int] | None:
    # BIRD's own words, read with birdc rather than the appliance's parser; None until the
    # session is up (BIRD prints no route counts before)
    out = subprocess.run(["birdc", "-s", socket, "show", "protocols", "all", protocol],
                         check=True, capture_output=True, text=True, timeout=20).stdout
    m = re.search(r"Routes:\s+(\d+) imported, (\d+) filtered, (\d+) exported", out)
    if m is None:
        return None
    return dict(zip(("imported", "filtered", "exported"), map(int, m.groups()), strict=True))


def _wait_for(what: str, probe: Callable[[], object], timeout: float = 90) -> object:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.5)
    pytest.fail(f"timed out waiting for {what} (last: {last!r})")


def test_prefix_counts_and_public_glass(lab, example_text):
    cfg, state, state_dir = lab
    # make the glass public and give the last member an MD5 password (its lab router has
    # none, so that session stays down: the password is still in BIRD's configuration)
    data = yaml.safe_load(example_text)
    data["admin_users"] = [{"name": "alice",
                            "password_hash": hash_password("monitor pass phrase")}]
    data.setdefault("services", {})["looking_glass"] = {"public": True}
    data["members"][4]["md5_password"] = SECRET
    out = build_pipeline(Target(state_dir, state.appliance_netns)).run(yaml.safe_dump(data),
                                                                     author="t")
    assert out.ok, out.error
    ctx = ApplyContext(Target(state_dir, state.appliance_netns))
    assert SECRET in (ctx.etc_dir / daemon.CONF).read_text(), "the test needs the password " \
        "in BIRD's configuration to prove the glass does not show it"
    pid = running_pid(ctx.target)
    assert pid, "the apply should have started the route server"
    socket = str(state_dir / "run" / "bird.ctl")
    try:
        # every member but the last sends its one prefix; each hears the three others'
        _wait_for("sessions of members 1-4 up with their routes", lambda: all(
            _birdc_routes(socket, f"c{asn}_203_0_113_{10 + i}") == {
                "imported": 1, "filtered": 0, "exported": 3}
            for i, asn in enumerate((64496, 64497, 64498, 64499))))
        store = SampleStore(samples_path(state_dir))
        ports = {m.ports[0].interface for m in cfg.members}
        collector = Collector(store, Target(state_dir, state.appliance_netns), lambda: ports,
                              interval=60)
        now = int(time.time())
        collector.sample_once(now=now - 120)

        sessions = store.sessions()
        assert len(sessions) == 10  # five members, two families
        assert {(s.asn, s.family) for s in sessions} == {
            (m.asn, f) for m in cfg.members for f in ("ipv4", "ipv6")}
        [first] = store.prefix_series(V4, now - 3600)
        assert (first[0].received, first[0].accepted, first[0].filtered,
                first[0].exported) == (1, 1, 0, 3)
        md5_v4 = "c64500_203_0_113_14"
        assert store.prefix_series(md5_v4, now - 3600)[0][0].accepted == 0  # session down

        # member 1 now also sends a bogon: filtered, so received rises but accepted does not
        _announce_bogon(state_dir, state)
        want = {"imported": 1, "filtered": 1, "exported": 3}
        _wait_for("the bogon filtered", lambda: _birdc_routes(socket, V4) == want)
        collector.sample_once(now=now - 60)
        [series] = store.prefix_series(V4, now - 3600)
        assert [(p.received, p.accepted, p.filtered) for p in series] == [(1, 1, 0),
                                                                          (2, 1, 1)]
        assert [p.ts for p in series] == [now - 120, now - 60]

        # anonymous visitors of the public glass: sessions, routes, reasons and counts
        anon = create_app(Target(state_dir, state.appliance_netns)).test_client()
        index = anon.get("/lg")
        assert index.status_code == 200
        assert "AS64496 Island Telecom" in index.get_data(as_text=True)
        page = anon.get(f"/lg/session/{V4}")
        assert page.status_code == 200
        text = page.get_data(as_text=True)
        assert "the prefix is a bogon" in text and "Prefix counts" in text
        assert 'class="chart prefixes"' in text and "filtered 1" in text
        assert "/graphs/member/" not in text  # the link to the admin graphs is for users
        protos = anon.get("/birdwatcher/protocols/bgp")
        assert protos.status_code == 200
        assert protos.get_json()["protocols"][V4]["routes"]["filtered"] == 1
        leaked = [p for p in (f"/lg/session/{md5_v4}", "/lg", "/birdwatcher/protocols/bgp",
                              f"/birdwatcher/routes/protocol/{md5_v4}", "/birdwatcher/status")
                  if SECRET in anon.get(p).get_data(as_text=True)]
        assert leaked == []
        assert anon.get("/graphs?kind=prefixes").status_code == 302  # still behind login

        # logged in: every session charted, and the member's own page
        login = anon.get("/login")
        anon.post("/login", data={"name": "alice", "password": "monitor pass phrase",
                                  "csrf_token": csrf(login.data)})
        graphs = anon.get("/graphs?kind=prefixes&range=2h").get_data(as_text=True)
        assert graphs.count('class="chart prefixes"') == 10
        member = anon.get("/graphs/member/64496").get_data(as_text=True)
        assert member.count('class="chart prefixes"') == 2 and "received 2" in member
    finally:
        daemon.stop_bird(pid)
