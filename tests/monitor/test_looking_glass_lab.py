"""Looking glass and birdwatcher API on a lab: a bogon is shown filtered, with its reason.
(The public mode, without login, is in test_prefix_counts_lab.py.)"""

from __future__ import annotations

import subprocess
import time

import pytest

from appliance.lab.lab import lab_dir
from appliance.platform.target import Target
from appliance.route_server import daemon
from appliance.route_server.daemon import running_pid
from appliance.web import create_app

from ..web.conftest import csrf

pytestmark = pytest.mark.netns


def _announce_bogon(state_dir, state) -> None:
    conf = lab_dir(state_dir) / "m1.conf"
    line = "  route 31.0.0.0/24 blackhole;"
    text = conf.read_text().replace(line, line + "\n  route 10.99.0.0/16 blackhole;")
    conf.write_text(text)
    subprocess.run(["birdc", "-s", state.members[0].socket, "configure"], check=True,
                   capture_output=True, timeout=20)


def test_looking_glass_shows_why(lab):
    _cfg, state, state_dir = lab
    pid = running_pid(Target(state_dir, state.appliance_netns))
    try:
        _announce_bogon(state_dir, state)
        client = create_app(Target(state_dir, state.appliance_netns)).test_client()
        v4 = "c64496_203_0_113_10"
        # the glass is not public by default: anonymous API clients are refused, users read
        assert client.get(f"/birdwatcher/routes/filtered/{v4}").status_code == 401
        login = client.get("/login")
        client.post("/login", data={"name": "alice", "password": "monitor pass phrase",
                                    "csrf_token": csrf(login.data)})
        deadline = time.monotonic() + 60
        filtered = []
        while time.monotonic() < deadline and not filtered:
            resp = client.get(f"/birdwatcher/routes/filtered/{v4}")
            filtered = resp.get_json().get("routes", []) if resp.status_code == 200 else []
            time.sleep(0.5)
        assert [r["network"] for r in filtered] == ["10.99.0.0/16"]
        assert [64511, 1101, 1] in filtered[0]["bgp"]["large_communities"]

        # birdwatcher shapes: protocols keyed by name, with route counts and the neighbor
        protos = client.get("/birdwatcher/protocols/bgp").get_json()["protocols"]
        assert protos[v4]["neighbor_as"] == 64496 and protos[v4]["routes"]["filtered"] == 1
        assert client.get("/birdwatcher/status").get_json()["status"]["router_id"] == \
            "203.0.113.1"
        accepted = client.get(f"/birdwatcher/routes/protocol/{v4}").get_json()["routes"]
        assert [r["network"] for r in accepted] == ["31.0.0.0/24"]
        found = client.get("/birdwatcher/routes/prefix?prefix=10.99.1.1").get_json()["routes"]
        assert [r["network"] for r in found] == ["10.99.0.0/16"]
        # a shorter query finds the filtered route inside it; nothing else matches
        wide = client.get("/birdwatcher/routes/prefix?prefix=10.0.0.0/8").get_json()["routes"]
        assert [r["network"] for r in wide] == ["10.99.0.0/16"]
        assert client.get("/birdwatcher/routes/prefix?prefix=10.98.0.0/16").get_json()[
            "routes"] == []
        v6 = client.get("/birdwatcher/routes/prefix?prefix=2001:db8:ffff::1")
        assert v6.status_code == 200 and v6.get_json()["routes"] == []
        assert client.get("/birdwatcher/routes/prefix?prefix=junk").status_code == 400
        assert client.get("/birdwatcher/routes/filtered/nope").status_code == 404

        # the page: the reason in words
        page = client.get(f"/lg/session/{v4}").get_data(as_text=True)
        assert "10.99.0.0/16" in page and "the prefix is a bogon" in page
        # the second member's route, once its session is up too (slow on a busy machine)
        deadline = time.monotonic() + 120
        search = ""
        while time.monotonic() < deadline and "64497" not in search:
            search = client.get("/lg/search?q=31.1.0.0/24").get_data(as_text=True)
            time.sleep(0.5)
        assert "31.1.0.0/24" in search and "64497" in search
        assert client.get("/lg/search?q=nonsense").status_code == 400
        index = client.get("/lg").get_data(as_text=True)
        assert "AS64496 Island Telecom" in index
    finally:
        if pid:
            daemon.stop_bird(pid)
