"""BIRD reply parsing, replayed from output recorded from a real BIRD 2.0.12.

The fixtures under tests/fixtures/bird/replies/ were recorded from the scenario lab
(IXP_RECORD_BIRD_FIXTURES=1 .venv/bin/pytest tests/bird/scenarios); the first line of each is
the command that produced it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from appliance.platform.bird.replies import (
    BirdError,
    is_final_line,
    iter_lines,
    parse_protocols,
    parse_reply,
    parse_routes,
    parse_status,
    raise_for_error,
)
from appliance.route_server.communities import reject_reasons_of
from tests.bird.scenarios.plan import CASES

REPLIES = Path(__file__).resolve().parents[1] / "fixtures" / "bird" / "replies"


def recorded(name: str):
    text = (REPLIES / f"{name}.txt").read_text()
    command, _, raw = text.partition("\n")
    assert command.startswith("# ")
    return parse_reply(raw)


def test_final_line_by_code_class():
    assert is_final_line("0000 ")
    assert is_final_line("0003 Reconfigured")
    assert is_final_line("8002 /x.conf:2:18 syntax error")
    assert is_final_line("9001 syntax error, unexpected CF_SYM_UNDEFINED")
    assert not is_final_line("0002-Reading configuration from /x.conf")
    assert not is_final_line("1002-device1    Device     ---        up")
    assert not is_final_line(" p_a        Pipe       ---        up")


def test_status():
    st = parse_status(recorded("status"))
    assert st.version == "2.0.12"
    assert st.router_id == "185.1.0.1"
    assert st.up
    assert st.last_reconfiguration


def test_protocols_all_with_route_counts():
    protos = {p.name: p for p in parse_protocols(recorded("protocols_all"))}
    m1 = protos["c10001_185_1_0_10"]
    assert (m1.proto, m1.state) == ("BGP", "up") and m1.established
    assert m1.since.startswith("20") and len(m1.since.split()) == 2  # iso long: date and time
    ch = m1.channels[0]
    assert ch.name == "ipv4" and ch.table == "t_c10001_185_1_0_10"
    sent = [c for c in CASES if c.by == "m1" and ":" not in c.ann.prefix]
    assert ch.imported + ch.filtered == len(sent)
    assert ch.filtered == len([c for c in sent if c.reasons])
    assert m1.details["Neighbor AS"] == "10001"
    assert protos["p_c10001_185_1_0_10"].proto == "Pipe"
    assert protos["rpki1"].proto == "RPKI"
    assert not protos["p_c10001_185_1_0_10"].established


def test_max_prefix_hit_is_visible():
    (m4,) = parse_protocols(recorded("protocols_all_m4"))
    ch = m4.channels[0]
    assert ch.receive_limit == 3 and ch.limit_hit
    assert ch.imported == 3 and m4.routes("exported") > 0


def test_plain_protocol_list():
    names = [p.name for p in parse_protocols(recorded("protocols"))]
    assert names[:2] == ["device1", "rpki1"] and "c10004_185_1_0_13" in names


def test_filtered_routes_carry_reject_reasons():
    routes = {r.prefix: r for r in parse_routes(recorded("routes_m1_filtered"))}
    default = routes["0.0.0.0/0"]
    assert default.table == "t_c10001_185_1_0_10"
    assert default.protocol == "c10001_185_1_0_10"
    assert default.next_hop == "185.1.0.10" and default.as_path == (10001,)
    assert [r.key for r in reject_reasons_of(list(default.large_communities), 65000)] == [
        "default_route", "irr_prefix"]
    assert routes["31.1.12.0/24"].as_path == (10001, 23456, 10011)
    assert [r.key for r in reject_reasons_of(list(routes["31.1.9.0/24"].large_communities),
                                             65000)] == ["rpki_invalid"]


def test_accepted_routes_and_communities():
    routes = {r.prefix: r for r in parse_routes(recorded("routes_m1_all"))}
    bh = routes["31.1.30.1/32"]
    assert (65535, 666) in bh.communities and (65535, 65281) in bh.communities
    assert routes["31.1.1.0/24"].local_pref == 100
    assert routes["31.1.40.0/24"].local_pref == 0  # graceful shutdown
    assert routes["31.1.1.0/24"].best
    assert not routes["31.1.40.0/24"].best  # m3's copy wins in m1's table


def test_ipv6_routes_and_next_hop():
    routes = parse_routes(recorded("routes_m1_v6_all"))
    r = next(r for r in routes if r.prefix == "2a0c:1:1::/48")
    assert r.next_hop == "2001:7f8:ffff::a"


def test_several_routes_for_one_prefix():
    routes = parse_routes(recorded("routes_for_gshut"))
    assert len(routes) >= 2
    assert {r.prefix for r in routes} == {"31.1.40.0/24"}
    best = [r for r in routes if r.best]
    assert best and best[0].local_pref == 100


def test_member_side_routes():
    routes = parse_routes(recorded("member_routes"))
    assert routes and all(r.protocol == "rs4" for r in routes)
    assert all(lc[:2] != (65000, 1101) for r in routes for lc in r.large_communities)


@pytest.mark.parametrize(("name", "code"), [
    ("configure_check", 20), ("configure_timeout", 3), ("configure_confirm", 18),
    ("configure_confirm_nothing", 19), ("configure_undo", 3), ("disable", 0),
    ("enable", 0), ("restart", 0),
])
def test_success_codes(name, code):
    reply = raise_for_error(recorded(name))
    assert reply.code == code and not reply.is_error


def test_configure_timeout_says_undo_is_scheduled():
    assert recorded("configure_timeout").texts(22) == ["Undo scheduled in 60 s"]


@pytest.mark.parametrize(("name", "code", "text"), [
    ("configure_check_broken", 8002, "syntax error"),
    ("configure_broken", 8002, "syntax error"),
    ("syntax_error", 9001, "syntax error"),
    ("unknown_protocol", 9001, "CF_SYM_UNDEFINED"),
    ("disable_unknown", 9001, "CF_SYM_UNDEFINED"),
])
def test_errors_raise_with_birds_text(name, code, text):
    reply = recorded(name)
    assert reply.is_error
    with pytest.raises(BirdError) as err:
        raise_for_error(reply, "the command")
    assert err.value.code == code and text in err.value.text
    assert "the command" in str(err.value)


def test_rpki_validator_state_is_visible():
    rpki = next(p for p in parse_protocols(recorded("protocols_all")) if p.name == "rpki1")
    assert rpki.proto == "RPKI" and rpki.state == "up"
    assert rpki.details["Cache server"] == "127.0.0.1"
    assert rpki.details["Status"] == "Established"
    assert rpki.details["Last update"].startswith("before")
    roas = {c.name: c.imported for c in rpki.channels}
    vrps = json.loads((REPLIES.parent / "vrps.json").read_text())["roas"]
    assert roas == {"roa4": sum(":" not in r["prefix"] for r in vrps),
                    "roa6": sum(":" in r["prefix"] for r in vrps)}  # the fixture VRP file's


def test_route_time_source_and_gateway():
    # the recorded default "timeformat route" (time of day only), with "from"
    r = parse_routes(recorded("member_routes"))[0]
    assert (r.since, r.source, r.gateway, r.interface) == ("10:58:09.451", "185.1.0.1",
                                                             "185.1.0.10", "eth0")
    # the route server's "timeformat route iso long": date and time, and no "from" when the
    # source is the gateway
    raw = ("1007-Table t_m1:\n"
           " 31.0.0.0/24          unicast [m1 2026-12-01 13:47:23] * (100) [AS64496i]\n"
           " \tvia 203.0.113.10 on ixbr\n"
           "1008-\tType: BGP univ\n"
           "0000 \n")
    r = parse_routes(parse_reply(raw))[0]
    assert (r.prefix, r.protocol, r.best, r.since, r.source, r.gateway) == (
        "31.0.0.0/24", "m1", True, "2026-12-01 13:47:23", "", "203.0.113.10")


def test_only_the_kinds_asked_for_are_parsed():
    reply = parse_reply((REPLIES / "protocols_all.txt").read_text().split("\n", 1)[1])
    every = parse_protocols(reply)
    bgp = parse_protocols(reply, {"BGP"})
    assert bgp == [p for p in every if p.proto == "BGP"] and len(bgp) < len(every)
    assert bgp == parse_protocols(iter_lines(reply.raw), {"BGP"}), "a reply or its lines"
