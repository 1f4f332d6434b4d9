"""Route-server sessions and service health on the dashboard and in /metrics, in the lab."""

from __future__ import annotations

import subprocess
import time

import pytest

from appliance.pipeline.concern import ApplyContext
from appliance.platform import shipped as sh
from appliance.platform.target import Target
from appliance.route_server import daemon
from appliance.route_server.daemon import running_pid
from appliance.route_server.status import route_server_sessions
from appliance.web import create_app
from appliance.web.api import tokens

from ..web.conftest import csrf
from .test_collector_lab import metric

pytestmark = pytest.mark.netns


def test_sessions_and_services(lab):
    cfg, state, state_dir = lab
    ctx = ApplyContext(Target(state_dir, state.appliance_netns))
    pid = running_pid(ctx.target)
    try:
        assert pid, "the apply should have started the route server"
        deadline = time.monotonic() + 60
        rs = {}
        def settled(rs: dict) -> bool:
            # up, and the last member's routes passed on too: on a busy machine a session is
            # Established a moment before its routes are exported to the others
            exports = [s["exported"] for s in rs["sessions"] if s["family"] == "ipv4"]
            return len(rs["sessions"]) == 10 and all(s["up"] for s in rs["sessions"]) \
                and all(n == 4 for n in exports)
        while time.monotonic() < deadline:
            rs = route_server_sessions(state_dir, cfg)
            if settled(rs):
                break
            time.sleep(0.5)
        assert rs["running"] and len(rs["sessions"]) == 10, rs
        assert all(s["up"] for s in rs["sessions"]), rs["sessions"]
        tel = next(s for s in rs["sessions"] if s["asn"] == 64496 and s["family"] == "ipv4")
        assert tel["neighbor"] == "203.0.113.10" and tel["accepted"] == 1
        assert tel["exported"] == 4  # one prefix from each of the four other members
        # the BIRD in use says its version (issue 19): the shipped one the lab runs
        shipped = subprocess.run(sh.wrap([sh.program("bird"), "--version"]),
                                 capture_output=True, text=True)
        assert sh.versions().get("bird2", "").startswith(rs["version"]), sh.versions()
        assert rs["version"] and rs["version"] in (shipped.stdout + shipped.stderr), rs["version"]

        client = create_app(Target(state_dir, state.appliance_netns)).test_client()
        # /metrics needs a token (or a login) while the looking glass is private
        auth = {"Authorization": "Bearer " + tokens.create(state_dir, "prometheus", "alice")}
        text = client.get("/metrics", headers=auth).get_data(as_text=True)
        assert metric(text, "ixp_service_up", {"service": "route_server"}) == 1
        assert metric(text, "ixp_service_up", {"service": "resolver"}) == 1
        assert metric(text, "ixp_bgp_session_up", {"asn": "64498", "family": "ipv6"}) == 1
        assert metric(text, "ixp_bgp_prefixes", {"asn": "64498", "family": "ipv4",
                                                 "kind": "accepted"}) == 1
        login = client.get("/login")
        client.post("/login", data={"name": "alice", "password": "monitor pass phrase",
                                    "csrf_token": csrf(login.data)})
        page = client.get("/").get_data(as_text=True)
        assert 'Route server <span class="ok">running</span>' in page
        assert page.count(">Established</span>") == 10
    finally:
        if pid:
            daemon.stop_bird(pid)
