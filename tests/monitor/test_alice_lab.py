"""Alice-LG against the box: Alice's calls for each documented source type (docs/operations.md)
replayed against a lab route server, each answer read with Alice's parsers (tests/web/alice.py).

The lab's m1 (AS64496) announces, besides its own prefix, a bogon (filtered, with its reason)
and 31.9.0.0/24 tagged "do not announce to AS64497" (so not exported to that member).
"""

from __future__ import annotations

import base64
import re
import subprocess
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest

from appliance.lab.lab import lab_dir
from appliance.platform.target import Target
from appliance.route_server import daemon
from appliance.route_server.daemon import running_pid
from appliance.route_server.status import route_server_sessions
from appliance.web import create_app
from appliance.web.api import tokens
from appliance.web.lg import glass_of

from ..web.alice import Alice, documented_sources

pytestmark = pytest.mark.netns

M1 = "c64496_203_0_113_10"
M2 = "c64497_203_0_113_11"
SESSIONS = sorted(f"c{asn}_{a}" for asn, n in zip(range(64496, 64501), range(10, 15),
                                                   strict=True)
                  for a in (f"203_0_113_{n}", f"2001_db8_eeee__{n}"))


def _announce(state_dir, state) -> None:
    conf = lab_dir(state_dir) / "m1.conf"
    text = conf.read_text()
    line = "  route 31.0.0.0/24 blackhole;"
    assert line in text
    text = text.replace(line, line + "\n  route 10.99.0.0/16 blackhole;"
                                     "\n  route 31.9.0.0/24 blackhole;")
    export = 'export where proto = "announced4";'
    assert export in text
    text = text.replace(export, "export filter { if net = 31.9.0.0/24 then "
                                "bgp_large_community.add((64511, 0, 64497)); "
                                'if proto = "announced4" then accept; reject; };')
    conf.write_text(text)
    subprocess.run(["birdc", "-s", state.members[0].socket, "configure"], check=True,
                   capture_output=True, timeout=20)


def _single_table_calls() -> list[str]:
    calls = ["/status", "/protocols/bgp", "/protocols/short?uncached=true"]
    for s in (M1, M2):
        calls += [f"/routes/protocol/{s}", f"/routes/filtered/{s}", f"/routes/noexport/{s}"]
    for t in ("master4", "master6"):
        calls += [f"/routes/table/{t}", f"/routes/table/{t}/filtered"]
    return calls


def _multi_table_calls() -> list[str]:
    calls = ["/status", "/protocols", "/protocols/short?uncached=true"]
    for s, addr in ((M1, "203.0.113.10"), (M2, "203.0.113.11")):
        calls += ["/protocols", f"/routes/peer/{addr}", f"/routes/filtered/{s}",
                  f"/routes/pipe/filtered?table=t_{s}&pipe=p_{s}", "/protocols",
                  f"/routes/noexport/p_{s}"]
    calls += ["/protocols", "/routes/table/master"]
    for s in SESSIONS:
        calls += [f"/routes/filtered/{s}", f"/routes/pipe/filtered?table=t_{s}&pipe=p_{s}"]
    return calls


# Alice's calls, in order, for: status, neighbours, neighbour status refresh, the routes page of
# two members, and the route store's refresh for the global prefix search.
EXPECTED = {"single_table": _single_table_calls(), "multi_table": _multi_table_calls()}


def _nets(routes) -> set[str]:
    return {r["network"] for r in routes}


def test_alice_replays_both_source_types(lab):
    _cfg, state, state_dir = lab
    pid = running_pid(Target(state_dir, state.appliance_netns))
    try:
        _announce(state_dir, state)
        client = create_app(Target(state_dir, state.appliance_netns)).test_client()
        secret = tokens.create(state_dir, "alice-lg", "alice", scope="read")
        bearer = {"Authorization": f"Bearer {secret}"}
        deadline = time.monotonic() + 90
        ready = False
        while time.monotonic() < deadline and not ready:
            f = client.get(f"/birdwatcher/routes/filtered/{M1}", headers=bearer)
            n = client.get(f"/birdwatcher/routes/noexport/{M2}", headers=bearer)
            rs = route_server_sessions(state_dir, _cfg)["sessions"]
            # every session up too: on a busy machine the routes of two can be there while
            # another session is still connecting
            ready = f.status_code == n.status_code == 200 and \
                _nets(f.get_json()["routes"]) == {"10.99.0.0/16"} and \
                _nets(n.get_json()["routes"]) == {"31.9.0.0/24"} and \
                len(rs) == len(SESSIONS) and all(x["up"] for x in rs)
            time.sleep(0.5)
        assert ready, "the lab's routes did not arrive, or a session is not up"

        sources = documented_sources()
        assert sorted(s.type for s in sources) == ["multi_table", "single_table"]
        for src in sources:
            api = urlsplit(src.api)
            assert api.password == "<token>" and api.path == "/birdwatcher", src.api
            auth = base64.b64encode(f"{api.username}:{secret}".encode()).decode()

            def get(path: str, prefix: str = api.path, auth: str = auth):
                resp = client.get(prefix + path, headers={"Authorization": f"Basic {auth}"})
                return resp.status_code, resp.get_json(silent=True)

            alice = Alice(src, get)
            status = alice.status()
            assert status["router_id"] == "203.0.113.1" and status["version"].startswith("2.")
            neighbors = alice.neighbors()
            assert sorted(neighbors) == SESSIONS, src.type
            assert all(n["state"] == "up" for n in neighbors.values()), neighbors
            # multi_table corrects the counts by the pipes: nothing counted filtered twice
            assert (neighbors[M1]["accepted"], neighbors[M1]["filtered"]) == (2, 1), src.type
            assert (neighbors[M2]["accepted"], neighbors[M2]["filtered"]) == (1, 0), src.type
            assert neighbors[M1]["asn"] == 64496 and neighbors[M1]["address"] == "203.0.113.10"
            assert set(alice.neighbors_status().values()) == {"up"}

            m1 = alice.routes(M1)
            assert _nets(m1["imported"]) == {"31.0.0.0/24", "31.9.0.0/24"}, src.type
            assert _nets(m1["filtered"]) == {"10.99.0.0/16"}, src.type
            assert [64511, 1101, 1] in m1["filtered"][0]["bgp"]["large_communities"]
            # the age is real: when BIRD got the route, in UTC
            now = datetime.now(UTC).replace(tzinfo=None)
            for r in m1["imported"] + m1["filtered"]:
                assert now - timedelta(minutes=10) < r["age_parsed"] < now + timedelta(
                    minutes=1), r
            assert all(r["gateway"] == "203.0.113.10" for r in m1["imported"])
            m2 = alice.routes(M2)
            assert _nets(m2["imported"]) == {"31.1.0.0/24"} and m2["filtered"] == []
            assert _nets(m2["not_exported"]) == {"31.9.0.0/24"}, src.type
            assert m1["not_exported"] == []

            dump = alice.all_routes()
            assert {"31.0.0.0/24", "31.9.0.0/24", "31.1.0.0/24"} <= _nets(dump["imported"])
            assert any(":" in r["network"] for r in dump["imported"]), "no IPv6 routes"
            assert _nets(dump["filtered"]) == {"10.99.0.0/16"}, src.type
            assert alice.calls == EXPECTED[src.type], src.type

        # names BIRD does not know: 404 in birdwatcher's error shape, saying what is missing
        for path, missing in (("/routes/protocol/nope", "no session"),
                              ("/routes/noexport/nope", "no session or pipe"),
                              ("/routes/noexport/device1", "no session or pipe"),
                              ("/routes/peer/192.0.2.99", "no session with neighbor"),
                              ("/routes/peer/nonsense", "no session with neighbor"),
                              ("/routes/table/rs_roa4", "no table"),
                              ("/routes/table/master4/peer/192.0.2.99", "no session"),
                              ("/routes/table/nope/peer/203.0.113.10", "no table"),
                              (f"/routes/pipe/filtered?table=t_{M1}&pipe=p_{M2}", "no pipe"),
                              ("/routes/pipe/filtered/count?table=x&pipe=y", "no pipe")):
            resp = client.get(f"/birdwatcher{path}", headers=bearer)
            assert resp.status_code == 404 and missing in resp.get_json()["error"], path
        count = client.get(f"/birdwatcher/routes/pipe/filtered/count?table=t_{M1}&pipe=p_{M1}"
                           "&address=203.0.113.10", headers=bearer).get_json()
        assert count["routes"] == 0 and "api" in count
        # BIRD itself gives the route's date and time (timeformat route iso long in the
        # rendered config), not a time of day the API would have to guess the date of
        glass = glass_of(state_dir, _cfg)
        sent = glass.routes_of(glass.session(M1), filtered=False)
        assert sent and all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", r["since"])
                            for r in sent), sent
        # one member table, as multi_table's peer_table_only setups read it
        own = client.get(f"/birdwatcher/routes/table/t_{M1}/peer/203.0.113.10",
                         headers=bearer).get_json()["routes"]
        assert _nets(own) == {"31.0.0.0/24", "31.9.0.0/24"}
    finally:
        if pid:
            daemon.stop_bird(pid)
