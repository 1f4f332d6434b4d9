"""Max-prefix trips read from BIRD's recorded session state: once per trip, bounded, kept."""

from __future__ import annotations

import dataclasses
import json

from appliance.platform.bird.replies import ChannelInfo, Protocol, parse_protocols
from appliance.route_server import max_prefix_trips as mpt
from tests.bird.test_replies import recorded


def _m4() -> Protocol:
    # Recorded from the scenario lab: m4's IPv4 session, action block, limit 3 hit.
    return next(p for p in parse_protocols(recorded("protocols_all_m4"))
                if p.name == "c10004_185_1_0_13")


def test_block_trip_recorded_once_while_it_lasts(tmp_path):
    p = _m4()
    new = mpt.record(tmp_path, [(p, 10004, "Member 4", "ipv4")])
    assert [(t.member, t.family, t.limit, t.action) for t in new] == [
        ("Member 4", "ipv4", 3, "block")]
    assert new[0].routes == 3 and new[0].time == p.since
    assert mpt.record(tmp_path, [(p, 10004, "Member 4", "ipv4")]) == []
    assert len(mpt.load_trips(tmp_path)) == 1
    # The limit is no longer hit (e.g. the session restarted): the next hit is a new trip.
    ok = dataclasses.replace(p, channels=tuple(dataclasses.replace(c, limit_hit=False)
                                               for c in p.channels))
    assert mpt.record(tmp_path, [(ok, 10004, "Member 4", "ipv4")]) == []
    assert len(mpt.record(tmp_path, [(p, 10004, "Member 4", "ipv4")])) == 1
    assert len(mpt.load_trips(tmp_path)) == 2


def test_down_trip_and_the_file_stays_small(tmp_path, monkeypatch):
    monkeypatch.setattr(mpt, "KEEP", 3)
    for i in range(5):
        down = Protocol(f"c1_{i}", "BGP", "---", "start", f"2026-01-01 00:00:0{i}",
                        "Active", {"Last error": "Route limit exceeded"},
                        (ChannelInfo("ipv4", receive_limit=2),))
        assert len(mpt.record(tmp_path, [(down, 1, "M", "ipv4")])) == 1
    trips = mpt.load_trips(tmp_path)
    assert [t["session"] for t in trips] == ["c1_2", "c1_3", "c1_4"]
    assert trips[-1]["action"] == "down" and trips[-1]["limit"] == 2
    data = json.loads(mpt.trips_path(tmp_path).read_text())
    assert data["open"] == ["c1_4|down"]  # only the sessions seen in the last read


def test_unwritable_state_dir_still_answers(tmp_path):
    (tmp_path / "route_server").write_text("a file where the directory should be")
    assert mpt.record(tmp_path, [(_m4(), 10004, "Member 4", "ipv4")]) == []
    assert mpt.load_trips(tmp_path) == []
