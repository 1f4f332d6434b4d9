"""The pure evaluator: holds, de-duplication, quiet period, resolution, unknown inputs, and
each rule on plain snapshots."""

from __future__ import annotations

import copy

from appliance.alerts.rules import PAST_KEEP, RULES, evaluate

DEFAULT_RULES = {
    "session_down": {"enabled": True, "minutes": 5}, "max_prefix": {"enabled": True},
    "port_down": {"enabled": True, "minutes": 1},
    "hygiene_drops": {"enabled": True, "per_minute": 10},
    "filtered_routes": {"enabled": True, "minutes": 60},
    "filter_data_stale": {"enabled": True, "days": 7},
    "anycast_withdrawn": {"enabled": True, "minutes": 1},
    "root_zone_stale": {"enabled": True}, "disk_full": {"enabled": True, "percent": 90},
    "firmware_rolled_back": {"enabled": True}, "config_applied": {"enabled": True},
}
SETTINGS = {"quiet_minutes": 30, "rules": DEFAULT_RULES}
T0 = 1_000_000.0


def session(up=True, proto="m64500_4", asn=64500, limit_hit=False, family="ipv4",
            neighbor="192.0.2.10"):
    return {"protocol": proto, "asn": asn, "member": "Alpha", "family": family,
            "neighbor": neighbor, "up": up, "state": "Established" if up else "Active",
            "limit_hit": limit_hit}


def snap(**parts):
    base = {"sessions": [session()], "trips": [], "filtered": [], "ports": [
        {"port": "ixp1", "member": "AS64500 Alpha", "up": True, "ifindex": 3}],
        "drops": {"ixp1": {"src_mac": 0}}, "data_age_days": {"rpki": 1.0, "irr": 1.0},
        "anycast": {"running": True, "checkers": [
            {"name": "dns1", "prefixes": ["192.0.2.53/32"], "announced": True,
             "state": "healthy"}]},
        "root_zone": {"state": "fresh", "message": "ok"}, "disk_percent": 40.0,
        "firmware": None, "revision": {"id": 1, "author": "admin", "message": "first"}}
    base.update(parts)
    return base


def run(rounds, settings=SETTINGS, state=None):
    """[(seconds after T0, snapshot)] -> (state, [(seconds, events)])."""
    out = []
    for t, s in rounds:
        state, events = evaluate(state, s, T0 + t, settings)
        out.append((t, events))
    return state, out


def kinds(events):
    return [(e["kind"], e["alert"]["key"]) for e in events]


def test_nothing_wrong_nothing_sent():
    state, out = run([(0, snap()), (60, snap()), (120, snap())])
    assert all(not ev for _t, ev in out)
    assert state["open"] == {} and state["past"] == []


def test_session_down_held_then_fires_once_then_resolves():
    down = snap(sessions=[session(up=False)])
    state, out = run([(0, snap()), (60, down), (60 + 299, down), (60 + 300, down),
                      (60 + 360, down), (60 + 420, snap())])
    assert [kinds(ev) for _t, ev in out] == [
        [], [], [], [("firing", "session_down:m64500_4")], [],
        [("resolved", "session_down:m64500_4")]]
    fired = out[3][1][0]["alert"]
    assert fired["opened"] == T0 + 60  # since when the cause lasts, not when the hold ended
    assert fired["member"] == "Alpha" and fired["asn"] == 64500
    assert "AS64500 Alpha" in fired["text"] and "5 min" in fired["text"]
    assert state["open"] == {} and state["past"][-1]["resolved"] == T0 + 480


def test_a_short_outage_sends_nothing():
    down = snap(sessions=[session(up=False)])
    state, out = run([(0, down), (120, down), (240, snap()), (300, down)])
    assert all(not ev for _t, ev in out)
    assert list(state["pending"]) == ["session_down:m64500_4"]
    assert state["pending"]["session_down:m64500_4"] == T0 + 300  # the hold starts again


def test_quiet_period_suppresses_a_flap_and_its_resolution():
    settings = {**SETTINGS, "rules": {**DEFAULT_RULES,
                                      "session_down": {"enabled": True, "minutes": 0}}}
    down, up = snap(sessions=[session(up=False)]), snap()
    state, out = run([(0, down), (60, up), (120, down), (180, up), (31 * 60 + 60, down)],
                     settings)
    assert [kinds(ev) for _t, ev in out] == [
        [("firing", "session_down:m64500_4")], [("resolved", "session_down:m64500_4")],
        [], [],  # the flap within 30 minutes: recorded, not sent, nor its resolution
        [("firing", "session_down:m64500_4")]]  # after the quiet period: sent again
    flapped = state["past"][-1]
    assert flapped["notified"] is False and flapped["resolved"] == T0 + 180


def test_route_server_not_answering_keeps_session_alerts():
    settings = {**SETTINGS, "rules": {**DEFAULT_RULES,
                                      "session_down": {"enabled": True, "minutes": 0}}}
    state, out = run([(0, snap(sessions=[session(up=False)])),
                      (60, snap(sessions=None, trips=None, filtered=None))], settings)
    assert kinds(out[1][1]) == []
    assert "session_down:m64500_4" in state["open"]


def test_switching_a_rule_off_closes_its_alerts_silently():
    settings0 = {**SETTINGS, "rules": {**DEFAULT_RULES,
                                       "port_down": {"enabled": True, "minutes": 0}}}
    down = snap(ports=[{"port": "ixp1", "member": "AS64500 Alpha", "up": False}])
    state, ev = evaluate(None, down, T0, settings0)
    assert kinds(ev) == [("firing", "port_down:ixp1")]
    off = {**SETTINGS, "rules": {**DEFAULT_RULES, "port_down": {"enabled": False}}}
    state, ev = evaluate(state, down, T0 + 60, off)
    assert ev == [] and state["open"] == {}
    assert state["past"][-1]["resolution"] == "rule switched off"


def test_port_down_names_the_port_and_member():
    down = snap(ports=[{"port": "ixp1", "member": "AS64500 Alpha", "up": False,
                        "ifindex": 7}])
    _s, out = run([(0, down), (60, down)])
    alert = out[1][1][0]["alert"]
    assert (alert["rule"], alert["port"], alert["member"]) == ("port_down", "ixp1",
                                                               "AS64500 Alpha")
    assert alert["details"]["ifindex"] == 7


def test_hygiene_rate_names_member_port_and_reason():
    def d(n):
        return snap(drops={"ixp1": {"src_mac": n, "ra": 0}})
    # 5 frames in a minute: below 10/min; then 600 in one minute: above
    _s, out = run([(0, d(0)), (60, d(5)), (120, d(605)), (180, d(606))])
    assert kinds(out[1][1]) == []
    assert kinds(out[2][1]) == [("firing", "hygiene_drops:ixp1:src_mac")]
    alert = out[2][1][0]["alert"]
    assert alert["member"] == "AS64500 Alpha" and alert["port"] == "ixp1"
    assert alert["reason"] == "src_mac" and alert["value"] == 600.0
    assert kinds(out[3][1]) == [("resolved", "hygiene_drops:ixp1:src_mac")]


def test_hygiene_counter_reset_is_no_rate():
    _s, out = run([(0, snap(drops={"ixp1": {"src_mac": 10_000}})),
                   (60, snap(drops={"ixp1": {"src_mac": 3}}))])
    assert all(not ev for _t, ev in out)


def test_max_prefix_trip_fires_once_and_resolves_when_session_is_back():
    trip = {"key": "m64500_4|t1", "session": "m64500_4", "asn": 64500, "member": "Alpha",
            "family": "ipv4", "limit": 100, "action": "down"}
    s0 = snap(trips=[])
    s1 = snap(trips=[trip], sessions=[session(up=False)])
    s2 = snap(trips=[trip], sessions=[session(up=True)])
    _s, out = run([(0, s0), (60, s1), (120, s1), (180, s2)])
    assert kinds(out[1][1]) == [("firing", "max_prefix:m64500_4")]
    assert "max-prefix limit (100)" in out[1][1][0]["alert"]["text"]
    assert kinds(out[2][1]) == []
    assert kinds(out[3][1]) == [("resolved", "max_prefix:m64500_4")]


def test_old_trips_at_the_first_round_are_not_news():
    trip = {"key": "old", "session": "m64500_4", "asn": 64500, "member": "Alpha",
            "family": "ipv4", "limit": 100, "action": "down"}
    _s, out = run([(0, snap(trips=[trip]))])
    assert out[0][1] == []


def test_filtered_routes_rpki_and_irr_after_hold():
    f = [{"protocol": "m64500_4", "asn": 64500, "member": "Alpha", "rpki_invalid": 2,
          "irr": 1, "rpki_examples": ["203.0.113.0/24"], "irr_examples": ["198.51.100.0/24"]}]
    _s, out = run([(0, snap(filtered=f)), (59 * 60, snap(filtered=f)),
                   (60 * 60, snap(filtered=f))])
    assert out[1][1] == []
    assert sorted(kinds(out[2][1])) == [("firing", "filtered_routes:m64500_4:irr"),
                                        ("firing", "filtered_routes:m64500_4:rpki")]
    rpki = next(e["alert"] for e in out[2][1] if e["alert"]["reason"] == "rpki_invalid")
    assert rpki["value"] == 2 and rpki["details"]["examples"] == ["203.0.113.0/24"]


def test_stale_data_root_disk_anycast():
    s = snap(data_age_days={"rpki": 8.2, "irr": None},
             root_zone={"state": "stale", "message": "The local root copy is STALE"},
             disk_percent=93.5,
             anycast={"running": True, "checkers": [
                 {"name": "dns1", "prefixes": ["192.0.2.53/32"], "announced": False,
                  "state": "failing"}]})
    _s, out = run([(0, s), (60, s)])
    assert sorted(kinds(out[0][1])) == [("firing", "disk_full"),
                                        ("firing", "filter_data_stale:rpki"),
                                        ("firing", "root_zone_stale")]
    assert kinds(out[1][1]) == [("firing", "anycast_withdrawn:dns1")]
    by = {e["alert"]["rule"]: e["alert"] for e in out[0][1]}
    assert by["disk_full"]["severity"] == "critical" and "94 %" in by["disk_full"]["text"]
    assert "8 days old" in by["filter_data_stale"]["text"]


def test_anycast_helper_gone_is_withdrawn():
    s = snap(anycast={"running": False, "checkers": []})
    _s, out = run([(0, s), (60, s)])
    assert kinds(out[1][1]) == [("firing", "anycast_withdrawn:helper")]


def test_config_applied_and_firmware_rolled_back_are_events():
    s1 = snap(revision={"id": 1, "author": "admin", "message": "a"})
    s2 = snap(revision={"id": 2, "author": "alice", "message": "add member"},
              firmware={"result": "rolled_back", "at": 5.0, "message": "rolled back: hung",
                        "reason": "hung", "version": "2", "from_version": "1"})
    state, out = run([(0, s1), (60, s2), (120, s2)])
    assert out[0][1] == []  # the revision running at start is not news
    assert sorted(kinds(out[1][1])) == [("event", "config_applied:2"),
                                        ("event", "firmware_rolled_back:5.0")]
    assert out[2][1] == []
    assert state["open"] == {}
    applied = next(e["alert"] for e in out[1][1] if e["alert"]["rule"] == "config_applied")
    assert applied["severity"] == "info" and "alice" in applied["text"]


def test_state_is_not_changed_and_past_is_bounded():
    settings = {**SETTINGS, "quiet_minutes": 0,
                "rules": {**DEFAULT_RULES, "port_down": {"enabled": True, "minutes": 0}}}
    down = snap(ports=[{"port": "ixp1", "member": "m", "up": False}])
    state, _ = evaluate(None, snap(), T0, settings)
    before = copy.deepcopy(state)
    evaluate(state, down, T0 + 1, settings)
    assert state == before
    for i in range(2 * PAST_KEEP + 40):
        state, _ = evaluate(state, down if i % 2 == 0 else snap(), T0 + 10 + i, settings)
    assert len(state["past"]) == PAST_KEEP


def test_every_rule_has_a_default():
    assert set(DEFAULT_RULES) == set(RULES)
