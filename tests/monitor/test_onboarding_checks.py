"""The onboarding checklist's rules on given facts (monitor/onboarding.py ``evaluate`` is pure),
the report card's coverage and traffic figures, and the ARP/ND frames the box asks with.
The lab test (tests/lab/test_onboarding_lab.py) runs them on a real box."""

from __future__ import annotations

import socket

import yaml
from scapy.layers.inet6 import ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6NDOptDstLLAddr, IPv6
from scapy.layers.l2 import ARP, Ether

from appliance.config.loader import config_from_data
from appliance.monitor.onboarding import Facts, evaluate
from appliance.monitor.report import coverage, own_pairs, traffic
from appliance.platform import probe
from appliance.platform.rtnl import NDA_LLADDR, _attr, parse_neighbour

from ..conftest import EXAMPLE

MAC = "02:00:5e:10:00:01"


def _member():
    cfg = config_from_data(yaml.safe_load(EXAMPLE.read_text()))
    return cfg.member_by_asn(64496)


def _good() -> Facts:
    return Facts(ports={"ixp1": True}, fdb={"ixp1": []}, drops={"ixp1": {"src_mac": 0,
                                                                         "ra": 0}},
                 answers={"203.0.113.10": {MAC}, "2001:db8:eeee::10": {MAC}}, rs_running=True,
                 sessions=[{"neighbor": "203.0.113.10", "family": "ipv4", "up": True,
                            "accepted": 3, "filtered": 0, "limit": 200, "limit_hit": False},
                           {"neighbor": "2001:db8:eeee::10", "family": "ipv6", "up": True,
                            "accepted": 1, "filtered": 0, "limit": 50, "limit_hit": False}],
                 accepted=[{"prefix": "31.0.0.0/24", "tags": ["irr_ok", "rpki_valid"]}])


def _by_key(checks):
    return {c["check"]: c for c in checks}


def test_a_good_member_is_green_on_every_check():
    checks = evaluate(_member(), _good(), {}, now=1000.0)
    assert [c["check"] for c in checks] == ["link", "macs", "hygiene", "neighbours", "bgp",
                                            "routes", "max_prefix"]
    assert all(c["ok"] for c in checks), checks


def test_each_problem_turns_its_check_red_with_what_was_seen():
    facts = _good()
    facts.ports = {"ixp1": False}
    facts.fdb = {"ixp1": ["02:aa:bb:cc:dd:ee"]}
    facts.answers = {"203.0.113.10": set(), "2001:db8:eeee::10": {"02:00:00:00:00:99"}}
    facts.sessions[1] = {**facts.sessions[1], "up": False, "state": "Active"}
    checks = _by_key(evaluate(_member(), facts, {}, now=1000.0))
    assert checks["link"]["findings"] == [{"code": "no_link", "port": "ixp1"}]
    assert checks["macs"]["findings"] == [{"code": "foreign_mac", "port": "ixp1",
                                           "mac": "02:aa:bb:cc:dd:ee"}]
    assert {f["code"] for f in checks["neighbours"]["findings"]} == {
        "no_answer", "answer_from_other_mac"}
    assert checks["bgp"]["findings"][0]["code"] == "session_down"
    # what depends on the sessions waits for them, and says so
    assert checks["routes"]["findings"] == [{"code": "waits_for_bgp"}]


def test_a_question_that_could_not_be_asked_says_so_not_nobody_answered():
    facts = _good()
    facts.answers, facts.probe_error = {}, "the apply helper does not answer"
    check = _by_key(evaluate(_member(), facts, {}, now=1000.0))["neighbours"]
    assert not check["ok"]
    assert check["findings"] == [{"code": "probe_failed",
                                  "reason": "the apply helper does not answer"}]


def test_rpki_irr_and_max_prefix():
    facts = _good()
    facts.filtered = [{"prefix": "31.0.1.0/24", "reasons": ["rpki_invalid"]},
                      {"prefix": "31.0.2.0/24", "reasons": ["irr_prefix"]},
                      {"prefix": "10.0.0.0/8", "reasons": ["bogon_prefix"]}]
    facts.sessions[0] = {**facts.sessions[0], "limit_hit": True}
    checks = _by_key(evaluate(_member(), facts, {}, now=1000.0))
    assert [f["code"] for f in checks["routes"]["findings"]] == ["rpki_invalid", "not_in_irr"]
    assert checks["routes"]["findings"][1]["as_set"] == "AS-ISLANDTEL"
    assert checks["max_prefix"]["findings"][0]["code"] == "over_limit"
    facts = _good()
    facts.irr_data = False
    assert _by_key(evaluate(_member(), facts, {}, now=1.0))["routes"]["findings"] == [
        {"code": "no_irr_data", "as_set": "AS-ISLANDTEL"}]


def test_hygiene_needs_a_quiet_period_and_ignores_the_quarantine_itself():
    history: dict = {}
    facts = _good()
    facts.drops = {"ixp1": {"ra": 0, "quarantine": 7, "quarantine_to": 3}}
    assert _by_key(evaluate(_member(), facts, history, now=0.0))["hygiene"]["ok"]
    facts.drops = {"ixp1": {"ra": 2, "quarantine": 9, "quarantine_to": 3}}
    red = _by_key(evaluate(_member(), facts, history, now=100.0))["hygiene"]
    assert [(f["reason"], f["packets"]) for f in red["findings"]] == [("ra", 2)]
    # the same count later: still red inside the quiet period, green after it
    assert not _by_key(evaluate(_member(), facts, history, now=650.0))["hygiene"]["ok"]
    assert _by_key(evaluate(_member(), facts, history, now=701.0))["hygiene"]["ok"]
    facts.drops["ixp1"]["ra"] = 3  # a new drop: red again
    assert not _by_key(evaluate(_member(), facts, history, now=710.0))["hygiene"]["ok"]
    # frames from another MAC are the macs check's business too
    facts.drops["ixp1"]["src_mac"] = 1
    macs = _by_key(evaluate(_member(), facts, history, now=720.0))["macs"]
    assert macs["findings"][0]["code"] == "wrong_source_mac"


def test_coverage_and_traffic_of_the_report_card():
    accepted = [{"prefix": "a", "tags": ["rpki_valid", "irr_ok"]},
                {"prefix": "b", "tags": ["rpki_unknown", "irr_unknown"]}]
    filtered = [{"prefix": "c", "reasons": ["rpki_invalid", "irr_origin"]},
                {"prefix": "d", "reasons": ["bogon_prefix"]}]
    cov = coverage(accepted, filtered)
    assert cov["announced"] == 4
    assert cov["rpki"] == {"valid": 1, "invalid": 1, "not_found": 2, "roa_coverage_pct": 50.0}
    assert cov["irr"] == {"registered": 1, "unregistered": 1, "unknown": 2,
                          "irr_coverage_pct": 25.0}
    rows = [{"from_asn": 1, "from": "A", "to_asn": 2, "to": "B", "family": "ipv4",
             "bytes": 100, "packets": 1},
            {"from_asn": 3, "from": "C", "to_asn": 1, "to": "A", "family": "ipv6",
             "bytes": 500, "packets": 5},
            {"from_asn": 2, "from": "B", "to_asn": 3, "to": "C", "family": "ipv4",
             "bytes": 9999, "packets": 9}]
    t = traffic(1, rows)
    assert (t["sent_bytes"], t["received_bytes"]) == (100, 500)
    assert [p["asn"] for p in t["top_peers"]] == [3, 2]  # the busiest first
    assert own_pairs(1, rows) == rows[:2]  # never the pair 2 -> 3


def test_the_questions_and_the_answers_on_the_wire():
    arp = Ether(probe.arp_request(MAC, "203.0.113.1", "203.0.113.10"))
    assert arp.dst == "ff:ff:ff:ff:ff:ff" and arp[ARP].op == 1
    assert (arp[ARP].psrc, arp[ARP].pdst) == ("203.0.113.1", "203.0.113.10")
    ns = Ether(probe.neighbour_solicitation(MAC, "2001:db8:eeee::1", "2001:db8:eeee::10"))
    assert ns[IPv6].dst == "ff02::1:ff00:10" and ns.dst == "33:33:ff:00:00:10"
    assert ns[ICMPv6ND_NS].tgt == "2001:db8:eeee::10"
    # scapy's own checksum agrees with ours
    again = Ether(bytes(ns))
    del again[ICMPv6ND_NS].cksum
    assert Ether(bytes(again))[ICMPv6ND_NS].cksum == ns[ICMPv6ND_NS].cksum
    reply = Ether(src="02:00:5e:10:00:09", dst=MAC) / ARP(
        op=2, hwsrc="02:00:5e:10:00:09", psrc="203.0.113.10", hwdst=MAC, pdst="203.0.113.1")
    assert probe.answer_of(bytes(reply)) == ("203.0.113.10", "02:00:5e:10:00:09")
    na = (Ether(src="02:00:5e:10:00:09", dst=MAC) / IPv6(src="2001:db8:eeee::10",
                                                        dst="2001:db8:eeee::1")
          / ICMPv6ND_NA(tgt="2001:db8:eeee::10") / ICMPv6NDOptDstLLAddr(lladdr=MAC))
    assert probe.answer_of(bytes(na)) == ("2001:db8:eeee::10", MAC)
    assert probe.answer_of(bytes(arp)) is None  # a question is no answer


def test_a_learnt_fdb_entry_parses():
    import struct
    body = struct.pack("=BxxiHBB", socket.AF_BRIDGE, 7, 0x02, 0x04, 0) + _attr(
        NDA_LLADDR, bytes.fromhex("02aabbccddee"))
    n = parse_neighbour(body)
    assert (n.ifindex, n.mac, n.state, n.master) == (7, "02:aa:bb:cc:dd:ee", "REACHABLE", True)
