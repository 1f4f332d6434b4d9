"""BGP4-MIB and BGP4V2-MIB against a real BIRD 2 route server, in namespaces of our own."""

from __future__ import annotations

import ipaddress
import time

import pytest

from appliance.platform.bird import query
from appliance.snmp.bgp_source import bgp_peers
from labkit.netlab import open_lab
from tests.snmp import birdlab
from tests.snmp.snmplab import (
    PORT,
    Lab,
    fitting_prefix,
    lab_config,
    parse_lines,
    parse_octets,
)

pytestmark = [pytest.mark.netns, pytest.mark.slow]

BGP4 = ".1.3.6.1.2.1.15"
PEER = f"{BGP4}.3.1"
V2_PEER = ".1.3.6.1.4.1.7336.4.2.1.1.2.1"
STATES = {"idle": "1", "connect": "2", "active": "3", "opensent": "4", "openconfirm": "5",
          "established": "6"}


@pytest.fixture(scope="module")
def bgp_lab(tmp_path_factory):
    """Route-server BIRD + one member BIRD (the lab harness's nodes) + the agent reading BIRD
    over its socket."""
    state = tmp_path_factory.mktemp("snmp-bgp")
    net = open_lab(state / "nodes", "ixt")
    lab = None
    try:
        rs = net.make_rs(birdlab.RS_V4, birdlab.RS_V6, 24, 64)
        net.add_member("mem", [birdlab.MEMBER_V4], [birdlab.MEMBER_V6], 24, 64, port="ixp1")
        net.start_bird(rs, birdlab.RS_CONF)
        net.start_bird(net.members["mem"], birdlab.MEMBER_CONF)
        birdlab.wait_established(rs.ctl, ["as64496_v4", "as64496_v6"])
        lab = Lab(net.prefix, state, ixp=rs.ns, member=net.members["mem"].ns,
                  log_path=state / "agent.log", listen=[f"127.0.0.1:{PORT}"], net=net)
        lab.write_config(lab_config())
        lab.extra_args = ["--bird-socket", str(rs.ctl), "--bgp-cache-seconds", "0.5"]
        (state / "run").mkdir(exist_ok=True)
        lab.start()
        lab.bird_socket = rs.ctl  # type: ignore[attr-defined]
        yield lab
    finally:
        if lab is not None:
            lab.stop()
        net.close()


def _walk(lab, oid):
    r = lab.v2c("snmpbulkwalk", oid)
    assert r.returncode == 0, r.stderr
    return parse_lines(r.stdout)


def test_bgp_scalars(bgp_lab):
    got = _walk(bgp_lab, BGP4)
    assert got[f"{BGP4}.1.0"] == ("Hex-STRING", "10 ")
    assert got[f"{BGP4}.2.0"] == ("INTEGER", "64511")
    assert got[f"{BGP4}.4.0"] == ("IpAddress", birdlab.RS_V4)


def test_peer_states_match_bird(bgp_lab):
    # Read BIRD and the agent until both agree (BIRD's connect/active flip on its own).
    deadline = time.monotonic() + 20
    mismatch = None
    while time.monotonic() < deadline:
        bird = {p.remote_address: p for p in bgp_peers(query.protocols(bgp_lab.bird_socket))}
        got = _walk(bgp_lab, PEER)
        mismatch = [(a, p.state, got.get(f"{PEER}.2.{a}")) for a, p in bird.items()
                    if ":" not in a and got.get(f"{PEER}.2.{a}") != ("INTEGER", STATES[p.state])]
        if not mismatch:
            break
        time.sleep(0.3)
    assert not mismatch, mismatch
    ipv4_peers = [a for a in bird if ":" not in a]
    assert len(ipv4_peers) == 3
    assert got[f"{PEER}.2.{birdlab.MEMBER_V4}"][1] == "6"
    assert got[f"{PEER}.3.203.0.113.12"] == ("INTEGER", "1")  # disabled in BIRD: stop
    assert got[f"{PEER}.3.{birdlab.MEMBER_V4}"] == ("INTEGER", "2")


def test_established_peer_details(bgp_lab):
    got = _walk(bgp_lab, PEER)
    a = birdlab.MEMBER_V4
    assert got[f"{PEER}.1.{a}"] == ("IpAddress", birdlab.MEMBER_V4)  # router id
    assert got[f"{PEER}.5.{a}"] == ("IpAddress", birdlab.RS_V4)
    assert got[f"{PEER}.7.{a}"] == ("IpAddress", a)
    assert got[f"{PEER}.9.{a}"] == ("INTEGER", "64496")
    assert got[f"{PEER}.10.{a}"] == ("Counter32", "2")  # the member's two prefixes
    for col in (11, 12, 13):
        assert got[f"{PEER}.{col}.{a}"][0] == "Counter32"
    assert got[f"{PEER}.16.{a}"][0] == "Gauge32"
    assert not any(k.startswith(f"{PEER}.2.32.") for k in got)  # IPv6 is BGP4V2's


def test_bgp4v2_shows_the_ipv6_session(bgp_lab):
    got = _walk(bgp_lab, ".1.3.6.1.4.1.7336.4.2.1")
    octets = ".".join(str(b) for b in ipaddress.IPv6Address(birdlab.MEMBER_V6).packed)
    idx = f"1.2.{octets}"
    assert got[f"{V2_PEER}.13.{idx}"] == ("INTEGER", "6")
    assert got[f"{V2_PEER}.10.{idx}"] == ("Gauge32", "64496")
    assert got[f"{V2_PEER}.4.{idx}"] == ("INTEGER", "2")
    assert got[f"{V2_PEER}.14.{idx}"] == ("STRING", '"Island Telecom"')
    v4 = f"1.1.{birdlab.MEMBER_V4}"
    assert got[f"{V2_PEER}.13.{v4}"] == ("INTEGER", "6")
    times = ".1.3.6.1.4.1.7336.4.2.1.1.4.1.1"
    assert got[f"{times}.{idx}"][0] == "Gauge32"


V2_COLUMNS = (1, 2, 3, 4, 5, 7, 8, 10, 11, 12, 13, 14)


@pytest.mark.parametrize("tool", ["snmpbulkwalk", "snmpwalk"])
def test_bgp4v2_peer_table_complete_with_utf8_descriptions(bgp_lab, tool):
    # Issue 13: one description outside Latin-1 used to empty the whole BGP4V2 peer table.
    r = bgp_lab.v2c(tool, V2_PEER[1:], opts=("-Ox",))
    assert r.returncode == 0, r.stderr
    values, octets = parse_lines(r.stdout), parse_octets(r.stdout)
    peers = {f"1.1.{birdlab.MEMBER_V4}": "Island Telecom",
             "1.1.203.0.113.11": birdlab.KORERO_DESCR,
             "1.1.203.0.113.12": fitting_prefix(birdlab.LONG_DESCR, 255)}
    for idx, descr in peers.items():
        missing = [c for c in V2_COLUMNS if f"{V2_PEER}.{c}.{idx}" not in values]
        assert not missing, (idx, missing)
        assert octets[f"{V2_PEER}.14.{idx}"].decode("utf-8") == descr
    assert len(octets[f"{V2_PEER}.14.1.1.203.0.113.12"]) <= 255
    with pytest.raises(UnicodeDecodeError):  # the long one really is cut inside a character
        birdlab.LONG_DESCR.encode("utf-8")[:255].decode("utf-8")
    v6 = ".".join(str(b) for b in ipaddress.IPv6Address(birdlab.MEMBER_V6).packed)
    assert f"{V2_PEER}.13.1.2.{v6}" in values


def test_full_walk_with_bgp_has_no_errors(bgp_lab):
    for tool in ("snmpwalk", "snmpbulkwalk"):
        r = bgp_lab.v2c(tool, "1.3.6.1")
        assert r.returncode == 0 and "not increasing" not in r.stderr, r.stderr
    r = bgp_lab.v3("snmpbulkwalk", BGP4)
    assert r.returncode == 0 and f"{PEER}.2.{birdlab.MEMBER_V4}" in r.stdout, r.stderr
