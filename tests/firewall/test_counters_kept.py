"""The management firewall's drop counters survive an apply that changes its rules.

Real nft in namespaces of our own, real packets (netprobe): drops counted before a
configuration change are still there after it, exactly (nothing lost, nothing counted twice),
and the new rules count into them; sets are replaced, not merged; objects the new ruleset does
not have go away; an update nft refuses falls back to the full replace, with a log line.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import fwlab as fl
import pytest

from appliance.config.loader import config_from_data
from appliance.firewall import nft
from appliance.firewall.concern import FirewallConcern
from appliance.firewall.render import DIGEST_PREFIX, REASONS, render_firewall
from appliance.firewall.status import read_drops
from appliance.platform import netns as labns
from appliance.platform.target import Target

# These calls only read or change the namespace: no state directory is involved.
NO_STATE = Path("/nonexistent")

pytestmark = pytest.mark.netns

# One UDP datagram per probe, so a dropped probe is exactly one packet on its counter.
SNMP_FROM_MEMBER: list[fl.Probe] = [("udp", fl.RS4, fl.SNMP_PORT, None),
                                    ("udp", fl.RS6, fl.SNMP_PORT, None),
                                    ("udp", fl.RES4, fl.SNMP_PORT, None)]


@pytest.fixture
def topo(netlab) -> Iterator[fl.Topology]:
    """A fresh topology with listeners, so an accepted probe answers "ok"."""
    t = fl.build(netlab)
    with fl.listeners(netlab, t.app):
        yield t


def _counts(app: str) -> dict[str, tuple[int, int]]:
    return {d.reason: (d.packets, d.bytes) for d in read_drops(Target(NO_STATE, app))}


def _packets(app: str, reason: str) -> int:
    return _counts(app)[reason][0]


def _listing(app: str) -> list[dict]:
    out = labns.run(app, [nft.nft_binary(), "-j", "list", "table", "inet", "ixp_mgmt"]).stdout
    return json.loads(out)["nftables"]


def _names(app: str, kind: str) -> set[str]:
    return {x[kind]["name"] for x in _listing(app) if kind in x}


def _apply(topo: fl.Topology, tmp_path, data: dict, concern: FirewallConcern) -> None:
    out = fl.apply(tmp_path, topo.app, data, concern)
    assert out.ok, out.error
    assert concern.last_action == "loaded"  # the rules really were loaded again


def test_drop_counters_survive_a_ruleset_change(topo, tmp_path):
    concern = FirewallConcern()
    _apply(topo, tmp_path, fl.config_data(), concern)  # first load: a fresh table
    assert not concern.last_in_place
    assert set(_counts(topo.app)) == set(REASONS)
    # Drops: SNMP from a member (lan_mgmt, one packet each), BGP from a stranger on the LAN
    # and from m2, which has no route-server session (bgp_source).
    assert fl.probe(topo.m1, SNMP_FROM_MEMBER) == dict.fromkeys(SNMP_FROM_MEMBER, "timeout")
    bgp_m2 = ("tcp", fl.RS4, 179, fl.M2_4)
    assert fl.probe(topo.m2, [("tcp", fl.RS4, 179, fl.STRANGER4), bgp_m2]) == {
        ("tcp", fl.RS4, 179, fl.STRANGER4): "timeout", bgp_m2: "timeout"}
    before = _counts(topo.app)
    assert before["lan_mgmt"][0] == len(SNMP_FROM_MEMBER)
    assert before["bgp_source"][0] >= 2

    # A change that alters the rules and sets: management limited to the NOC network (two
    # new sets, new mgmt_source rules), m2 gets a route-server session (bgp_peers4 grows).
    changed = fl.config_data(allowed=["198.18.0.0/24"])
    changed["members"][1]["route_server"] = True
    out = fl.apply(tmp_path, topo.app, changed, concern)
    assert out.ok, out.error
    assert concern.last_action == "loaded" and concern.last_in_place
    assert [c.detail for c in out.changes if c.target == "nft table inet ixp_mgmt"] == [
        "reload in place, atomic (drop counters kept)"]
    after = _counts(topo.app)
    # exactly what was counted: not one packet or byte lost or counted twice
    assert after["lan_mgmt"] == before["lan_mgmt"]
    assert after["bgp_source"] == before["bgp_source"]
    # and no counter restarted (others may grow from background chatter, never shrink)
    assert all(after[r] >= before[r] for r in REASONS), (before, after)
    assert {"mgmt_allowed4", "mgmt_allowed6"} <= _names(topo.app, "set")

    # The new rules work and count into the kept counters.
    assert fl.probe(topo.m1, SNMP_FROM_MEMBER[:1]) == {SNMP_FROM_MEMBER[0]: "timeout"}
    assert _packets(topo.app, "lan_mgmt") == len(SNMP_FROM_MEMBER) + 1
    assert fl.probe(topo.m2, [bgp_m2]) == {bgp_m2: "ok"}  # the set got m2's address
    snmp_office = ("udp", fl.MGMT4, fl.SNMP_PORT, fl.LAPTOP4)
    snmp_noc = ("udp", fl.NOC_MGMT4, fl.SNMP_PORT, fl.NOC4)
    mgmt_source = _packets(topo.app, "mgmt_source")
    assert fl.probe(topo.laptop, [snmp_office, snmp_noc]) == {snmp_office: "timeout",
                                                              snmp_noc: "ok"}
    assert _packets(topo.app, "mgmt_source") == mgmt_source + 1

    # Another network instead: the set is replaced, not merged (the NOC is out now).
    moved = fl.config_data(allowed=["10.9.0.0/16"])
    moved["members"][1]["route_server"] = True
    _apply(topo, tmp_path, moved, concern)
    assert concern.last_in_place
    assert _packets(topo.app, "lan_mgmt") == len(SNMP_FROM_MEMBER) + 1
    assert _packets(topo.app, "mgmt_source") == mgmt_source + 1
    assert fl.probe(topo.laptop, [snmp_noc]) == {snmp_noc: "timeout"}
    assert _packets(topo.app, "mgmt_source") == mgmt_source + 2

    # Nothing changed: nothing loaded, nothing counted twice.
    listing = nft.list_table(Target(tmp_path, topo.app))
    concern.last_action = None  # the pipeline may not call apply at all
    out = fl.apply(tmp_path, topo.app, moved, concern)
    assert out.ok and out.changes == [] and concern.last_action is None
    assert nft.list_table(Target(tmp_path, topo.app)) == listing

    # Back to any source: the sets the new ruleset does not have go away, counters stay.
    _apply(topo, tmp_path, fl.config_data(), concern)
    assert concern.last_in_place
    assert not {"mgmt_allowed4", "mgmt_allowed6"} & _names(topo.app, "set")
    assert _packets(topo.app, "lan_mgmt") == len(SNMP_FROM_MEMBER) + 1
    assert _packets(topo.app, "mgmt_source") == mgmt_source + 2
    assert fl.probe(topo.laptop, [snmp_office]) == {snmp_office: "ok"}


def test_objects_the_new_ruleset_lacks_go_away(topo, tmp_path):
    concern = FirewallConcern()
    _apply(topo, tmp_path, fl.config_data(), concern)
    assert fl.probe(topo.m1, SNMP_FROM_MEMBER[:1]) == {SNMP_FROM_MEMBER[0]: "timeout"}
    # What an older version (or a hand) may have left: a counter for a reason that no longer
    # exists, a counter without a reason, a chain and a set nobody uses any more.
    for cmd in (["add", "counter", "inet", "ixp_mgmt", "retired", "{", "comment",
                 '"reason=retired"', ";", "}"],
                ["add", "counter", "inet", "ixp_mgmt", "kept_for_nothing"],
                ["add", "chain", "inet", "ixp_mgmt", "old_chain"],
                ["add", "set", "inet", "ixp_mgmt", "old_set", "{", "type", "ipv4_addr", ";",
                 "}"]):
        labns.run(topo.app, [nft.nft_binary(), *cmd])
    assert {"retired", "kept_for_nothing"} <= _names(topo.app, "counter")
    _apply(topo, tmp_path, fl.config_data(allowed=["198.18.0.0/24"]), concern)
    assert concern.last_in_place
    assert _names(topo.app, "counter") == set(REASONS)
    assert "old_chain" not in _names(topo.app, "chain")
    assert "old_set" not in _names(topo.app, "set")
    assert _packets(topo.app, "lan_mgmt") == 1
    assert [d.reason for d in read_drops(Target(tmp_path, topo.app))] == list(REASONS)


def test_an_update_nft_refuses_falls_back_to_the_full_replace(topo, tmp_path, caplog):
    concern = FirewallConcern()
    data = fl.config_data()
    _apply(topo, tmp_path, data, concern)
    # Someone reloaded our table with the input hook at another priority: nft cannot change
    # a base chain's priority in place, so it refuses the whole update (and changes nothing).
    text = render_firewall(config_from_data(data)).replace(
        "hook input priority filter;", "hook input priority filter + 10;")
    hand = tmp_path / "by-hand.nft"
    hand.write_text(text)
    labns.run(topo.app, [nft.nft_binary(), "-f", str(hand)])
    assert fl.probe(topo.m1, SNMP_FROM_MEMBER[:1]) == {SNMP_FROM_MEMBER[0]: "timeout"}
    assert _packets(topo.app, "lan_mgmt") == 1
    with caplog.at_level(logging.INFO):
        _apply(topo, tmp_path, fl.config_data(allowed=["198.18.0.0/24"]), concern)
    assert not concern.last_in_place
    assert any("cannot update" in r.getMessage() and "replacing it" in r.getMessage()
               for r in caplog.records), [r.getMessage() for r in caplog.records]
    assert any("drop counters restart from 0" in r.getMessage() for r in caplog.records)
    # the full replace loaded our rendering: our priority, our sets, counters from zero
    listing = nft.list_table(Target(tmp_path, topo.app)) or ""
    assert "hook input priority filter; policy accept;" in listing
    assert "mgmt_allowed4" in listing
    assert _packets(topo.app, "lan_mgmt") == 0
    assert fl.probe(topo.m1, SNMP_FROM_MEMBER[:1]) == {SNMP_FROM_MEMBER[0]: "timeout"}
    assert _packets(topo.app, "lan_mgmt") == 1


def test_a_table_from_an_older_version_is_replaced_once(topo, tmp_path):
    # Older versions kept the digest in the table's comment, which an update cannot change:
    # such a table is replaced (counters from zero, and the plan says so), then kept.
    old = render_firewall(config_from_data(fl.config_data(allowed=["198.18.0.0/24"])))
    old = re.sub(r' comment "(ixp-appliance sha256=[0-9a-f]{64})"', "", old)
    old = old.replace("table inet ixp_mgmt {\n",
                      f"table inet ixp_mgmt {{\n\tcomment \"{DIGEST_PREFIX}{'0' * 64}\"\n")
    hand = tmp_path / "older-version.nft"
    hand.write_text(old)
    labns.run(topo.app, [nft.nft_binary(), "-f", str(hand)])
    assert fl.probe(topo.m1, SNMP_FROM_MEMBER[:1]) == {SNMP_FROM_MEMBER[0]: "timeout"}
    assert _packets(topo.app, "lan_mgmt") == 1
    concern = FirewallConcern()
    out = fl.apply(tmp_path, topo.app, fl.config_data(), concern)
    assert out.ok, out.error
    assert [c.detail for c in out.changes if c.target == "nft table inet ixp_mgmt"] == [
        "reload (atomic replace, drop counters restart from 0)"]
    assert concern.last_action == "loaded" and not concern.last_in_place
    assert _packets(topo.app, "lan_mgmt") == 0
    assert not re.search(r"^\tcomment ", nft.list_table(Target(tmp_path, topo.app)) or "", re.M)
    # from now on in place
    assert fl.probe(topo.m1, SNMP_FROM_MEMBER[:1]) == {SNMP_FROM_MEMBER[0]: "timeout"}
    _apply(topo, tmp_path, fl.config_data(allowed=["198.18.0.0/24"]), concern)
    assert concern.last_in_place and _packets(topo.app, "lan_mgmt") == 1
