"""Real connections against real listeners in the appliance namespace, with the rendered table
loaded there by the pipeline: what members, strangers on the LAN and the operator's laptop can
and cannot reach.

Every "unreachable" is paired with a control: the same probe answers when the firewall is off
(``test_without_the_firewall_every_listener_answers``), and the drop counter for its reason
moves. A dropped probe is recognised by the time-out of a listener that otherwise answers.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import fwlab as fl
import pytest

from appliance.firewall import nft
from appliance.firewall.status import drops_by_reason
from appliance.platform import netns as labns
from appliance.platform.target import Target
from labkit import netlab

# These calls only read or change the namespace: no state directory is involved.
NO_STATE = Path("/nonexistent")

pytestmark = pytest.mark.netns


@pytest.fixture(scope="module")
def topo(tmp_path_factory) -> Iterator[tuple[fl.Topology, Path]]:
    """The topology with listeners running, shared by this module's tests."""
    if os.geteuid() != 0:
        pytest.fail("this test creates network namespaces and must run as root")
    with netlab.session(tmp_path_factory.mktemp("netlab"), "ixt") as lab:
        t = fl.build(lab)
        with fl.listeners(lab, t.app):
            yield t, tmp_path_factory.mktemp("state")


def _apply(topo: tuple[fl.Topology, Path], **kw: object) -> fl.Topology:
    t, state = topo
    out = fl.apply(state, t.app, fl.config_data(**kw))  # type: ignore[arg-type]
    assert out.ok, out.error
    assert nft.table_loaded(Target(NO_STATE, t.app)) == kw.get("firewall", True)
    return t


def _mgmt_probes(dst4: str, dst6: str, src4: str | None = None,
                 src6: str | None = None) -> list[fl.Probe]:
    out: list[fl.Probe] = []
    for dst, src in ((dst4, src4), (dst6, src6)):
        out += [("tcp", dst, p, src) for p in fl.MGMT_TCP]
        out.append(("udp", dst, fl.SNMP_PORT, src))
    return out


def test_without_the_firewall_every_listener_answers(topo):
    t = _apply(topo, firewall=False)
    member = fl.probe(t.m1, [*_mgmt_probes(fl.RS4, fl.RS6), ("tcp", fl.RS4, 179, None)])
    stranger = fl.probe(t.m2, [("tcp", fl.RS4, 179, fl.STRANGER4),
                               ("udp", fl.RES4, 53, fl.DNS_NO4),
                               ("tcp", fl.RS6, 179, fl.STRANGER6)])
    laptop = fl.probe(t.laptop, _mgmt_probes(fl.MGMT4, fl.MGMT6))
    for results in (member, stranger, laptop):
        assert set(results.values()) == {"ok"}, results


def test_the_management_plane_is_unreachable_from_the_peering_lan(topo):
    t = _apply(topo)
    before = drops_by_reason(Target(NO_STATE, t.app))["lan_mgmt"]
    # from a member, to the route server's and the resolver's addresses, IPv4 and IPv6;
    # and to the management address itself, routed through the box (weak host model)
    probes = [*_mgmt_probes(fl.RS4, fl.RS6), *_mgmt_probes(fl.RES4, fl.RES6)]
    res = fl.probe(t.m1, probes)
    assert set(res.values()) == {"timeout"}, res
    assert drops_by_reason(Target(NO_STATE, t.app))["lan_mgmt"] >= before + len(probes)


def test_bgp_only_from_route_server_members(topo):
    t = _apply(topo)
    before = drops_by_reason(Target(NO_STATE, t.app))["bgp_source"]
    ok = fl.probe(t.m1, [("tcp", fl.RS4, 179, None), ("tcp", fl.RS6, 179, None)])
    assert set(ok.values()) == {"ok"}, ok
    refused = fl.probe(t.m2, [
        ("tcp", fl.RS4, 179, fl.M2_4),  # a member, but without route_server
        ("tcp", fl.RS6, 179, fl.M2_6),
        ("tcp", fl.RS4, 179, fl.STRANGER4),  # not a member's address at all
        ("tcp", fl.RS6, 179, fl.STRANGER6),
    ])
    assert set(refused.values()) == {"timeout"}, refused
    assert drops_by_reason(Target(NO_STATE, t.app))["bgp_source"] >= before + 4


def test_dns_only_from_the_networks_the_resolver_serves(topo):
    t = _apply(topo)
    before = drops_by_reason(Target(NO_STATE, t.app))["dns_source"]
    allowed = [(proto, dst, 53, src)
               for proto in ("udp", "tcp")
               for dst, src in ((fl.RES4, fl.M2_4), (fl.RES6, fl.M2_6),  # peering LAN
                                (fl.RES4, fl.STRANGER4),  # any LAN address, like unbound
                                (fl.RES4, fl.DNS_OK4), (fl.RES6, fl.DNS_OK6))]  # allowed
    denied = [(proto, dst, 53, src)
              for proto in ("udp", "tcp")
              for dst, src in ((fl.RES4, fl.DNS_NO4), (fl.RES6, fl.DNS_NO6),
                               (fl.RS4, fl.M2_4))]  # DNS to a non-service address
    res = fl.probe(t.m2, allowed + denied)
    assert {p: r for p, r in res.items() if p in allowed} == dict.fromkeys(allowed, "ok")
    assert {p: r for p, r in res.items() if p in denied} == dict.fromkeys(denied, "timeout")
    assert drops_by_reason(Target(NO_STATE, t.app))["dns_source"] >= before + len(denied)


def test_the_laptop_reaches_ssh_web_and_snmp_on_the_management_nic(topo):
    t = _apply(topo)
    res = fl.probe(t.laptop, _mgmt_probes(fl.MGMT4, fl.MGMT6))
    assert set(res.values()) == {"ok"}, res
    # but nothing else: BGP and DNS are not services of the management network
    before = drops_by_reason(Target(NO_STATE, t.app))["mgmt_other"]
    other = fl.probe(t.laptop, [("tcp", fl.MGMT4, 179, None), ("tcp", fl.MGMT6, 179, None)])
    assert set(other.values()) == {"timeout"}, other
    assert drops_by_reason(Target(NO_STATE, t.app))["mgmt_other"] >= before + 2


def test_snmp_is_closed_when_the_agent_is_off(topo):
    t = _apply(topo, snmp=False)
    res = fl.probe(t.laptop, [("udp", fl.MGMT4, fl.SNMP_PORT, None),
                              ("tcp", fl.MGMT4, 22, None)])
    assert res == {("udp", fl.MGMT4, fl.SNMP_PORT, None): "timeout",
                   ("tcp", fl.MGMT4, 22, None): "ok"}


def test_allowed_networks_limit_who_manages_the_box(topo):
    t = _apply(topo, allowed=["198.18.0.0/24"])
    before = drops_by_reason(Target(NO_STATE, t.app))["mgmt_source"]
    res = fl.probe(t.laptop, [
        *_mgmt_probes(fl.NOC_MGMT4, fl.MGMT6, src4=fl.NOC4),
        ("tcp", fl.RECOVERY_MGMT4, 443, fl.RECOVERY4),  # recovery cable: always
        ("tcp", fl.MGMT4, 22, fl.LAPTOP4),  # office network: not allowed any more
        ("tcp", fl.MGMT4, 443, fl.LAPTOP4),
        ("udp", fl.MGMT4, fl.SNMP_PORT, fl.LAPTOP4),
    ])
    noc4 = [p for p in res if p[3] == fl.NOC4]
    v6 = [p for p in res if p[1] == fl.MGMT6]
    assert {p: res[p] for p in noc4} == dict.fromkeys(noc4, "ok")
    # no IPv6 network is allowed (only link-local, for recovery): the global address is out
    assert {p: res[p] for p in v6} == dict.fromkeys(v6, "timeout")
    assert res[("tcp", fl.RECOVERY_MGMT4, 443, fl.RECOVERY4)] == "ok"
    office = [p for p in res if p[3] == fl.LAPTOP4]
    assert {p: res[p] for p in office} == dict.fromkeys(office, "timeout")
    assert drops_by_reason(Target(NO_STATE, t.app))["mgmt_source"] >= before + len(office) + len(v6)


def test_ping_is_answered_everywhere(topo):
    t = _apply(topo)
    for ns, dst in ((t.m1, fl.RS4), (t.m1, fl.RS6), (t.laptop, fl.MGMT4),
                    (t.laptop, fl.MGMT6)):
        res = labns.run(ns, ["ping", "-c", "1", "-W", "2", dst], check=False)
        assert res.returncode == 0, f"{ns} cannot ping {dst}: {res.stdout}"


def test_an_echo_flood_is_cut_and_counted(topo):
    t = _apply(topo)
    before = drops_by_reason(Target(NO_STATE, t.app))["icmp_flood"]
    # 600 echo requests at once: far above the 200-packet burst
    labns.run(t.m1, ["ping", "-q", "-l", "600", "-c", "600", "-W", "1", fl.RS4],
                 check=False, timeout=30)
    assert drops_by_reason(Target(NO_STATE, t.app))["icmp_flood"] > before


def test_an_interface_that_is_neither_lan_nor_management_gets_no_answer(topo, netlab):
    """A NIC that is no member's port (a free NIC, a VLAN trunk): the box's own addresses are
    not reachable through it, ping included (the echo limit once came first and answered),
    and each frame is counted as ``other_interface``."""
    t = _apply(topo)
    spare = netlab.add_host("sp", into=t.app, port="spare0", mac="02:00:5e:10:00:77",
                            addrs=["203.0.113.77/24"])
    labns.run(t.app, ["ip", "link", "set", "spare0", "up"])
    box = Target(NO_STATE, t.app)
    before = drops_by_reason(box)["other_interface"]
    # the box would answer ARP there (arp_ignore 0): a static entry makes that beside the point
    mac = labns.run(t.app, ["cat", "/sys/class/net/spare0/address"]).stdout.strip()
    labns.run(spare.ns, ["ip", "neigh", "replace", fl.RS4, "lladdr", mac, "dev", "eth0"])
    # (an answer would leave through br-ixp, not come back here: the counter tells)
    labns.run(spare.ns, ["ping", "-c", "3", "-i", "0.2", "-W", "1", fl.RS4], check=False)
    assert drops_by_reason(box)["other_interface"] == before + 3, "an echo was not dropped"
    tcp = fl.probe(spare.ns, [("tcp", fl.RS4, 22, None)])
    assert set(tcp.values()) == {"timeout"}, tcp
    assert drops_by_reason(box)["other_interface"] >= before + 4
