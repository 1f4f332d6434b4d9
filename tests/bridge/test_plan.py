"""The plan as a pure function of wanted and running state (synthetic netlink state)."""

from __future__ import annotations

import bridgelab as bl
import pytest

from appliance.bridge.desired import BRIDGE_ATTRS, PORT_FLAGS, desired_state
from appliance.bridge.netlink_state import Current, Link
from appliance.bridge.plan import PlanError, make_plan
from appliance.config.errors import ConfigError
from appliance.config.model import IXPConfig


def _link(index: int, name: str, **kw) -> Link:
    base = {"kind": "veth", "master": None, "mtu": 1500, "up": False, "address": None}
    return Link(index=index, name=name, **{**base, **kw})


def _running(cfg) -> Current:
    """The state a successful apply of ``cfg`` leaves behind."""
    d = desired_state(cfg)
    bridge = _link(100, d.bridge.name, kind="bridge", up=True, bridge_attrs=dict(BRIDGE_ATTRS))
    links = {bridge.name: bridge}
    for i, p in enumerate(d.ports, 1):
        links[p.ifname] = _link(i, p.ifname, master=100, up=True, brport=dict(PORT_FLAGS))
    return Current(links=links, bridge=bridge, fdb=set(d.fdb), neigh=dict(d.neigh),
                   addresses=set(d.addresses))


def _cfg(*members):
    return bl.config([bl.member_data(i) if isinstance(i, int) else i for i in members])


def test_cold_plan_creates_everything_in_order():
    cfg = _cfg(1, 2)
    cur = Current(links={"ixp1": _link(1, "ixp1"), "ixp2": _link(2, "ixp2")}, bridge=None)
    ops = make_plan(desired_state(cfg), cur)
    kinds = [op.kind for op in ops]
    assert kinds[0] == "bridge" and ops[0].action == "add"
    assert kinds.index("port") < kinds.index("brport") < kinds.index("fdb") < kinds.index("neigh")
    assert sum(k == "fdb" for k in kinds) == 2 and sum(k == "address" for k in kinds) == 2
    assert dict(ops[0].params)["br_stp_state"] == 0


def test_running_state_equal_to_config_plans_nothing():
    cfg = _cfg(1, 2, 3)
    assert make_plan(desired_state(cfg), _running(cfg)) == []


def test_drifted_flag_mtu_and_down_bridge_are_corrected_one_by_one():
    cfg = _cfg(1, 2)
    cur = _running(cfg)
    cur.links["ixp2"].brport["learning"] = 1
    cur.links["ixp1"].mtu = 9000
    cur.links["br-ixp"].up = False
    ops = {(op.kind, op.target, op.detail) for op in make_plan(desired_state(cfg), cur)}
    assert ops == {("brport", "port ixp2 flags", "learning=0"),
                   ("port", "port ixp1", "AS4200000001 Member 1: mtu=1500"),
                   ("bridge", "bridge br-ixp", "state=up")}


def test_removed_member_and_stale_entries_are_removed():
    cfg = _cfg(1, 2)
    cur = _running(_cfg(1, 2, 3))
    cur.fdb.add(("ixp1", "02:00:5e:10:99:99"))
    cur.addresses.add("203.0.113.200/24")
    ops = {(op.action, op.target) for op in make_plan(desired_state(cfg), cur)}
    assert ops == {("remove", "port ixp3"),
                   ("remove", "fdb 02:00:5e:10:99:99 on ixp1"),
                   ("remove", "neighbour 203.0.113.13"),
                   ("remove", "neighbour 2001:db8:eeee::13"),
                   ("remove", "address 203.0.113.200/24 on br-ixp")}


def test_missing_and_foreign_ports_are_refused_with_every_field_named():
    cfg = _cfg(1, 2, 3)
    cur = _running(_cfg(1, 2))
    del cur.links["ixp1"]
    cur.links["ixp2"].master = 7
    cur.links["br-x"] = _link(7, "br-x", kind="bridge")
    with pytest.raises(PlanError) as exc:
        make_plan(desired_state(cfg), cur, "namespace lab")
    msg = str(exc.value)
    assert "members[0].ports[0].interface: interface ixp1 does not exist in namespace lab" in msg
    assert "members[1].ports[0].interface: ixp2 already belongs to br-x" in msg
    assert "members[2].ports[0].interface: interface ixp3 does not exist" in msg


def test_bridge_name_taken_by_another_kind_of_device_is_refused():
    cfg = _cfg(1)
    cur = Current(links={"ixp1": _link(1, "ixp1"), "br-ixp": _link(9, "br-ixp")}, bridge=None)
    with pytest.raises(PlanError, match=r"peering_lan\.bridge: br-ixp exists .* not a bridge"):
        make_plan(desired_state(cfg), cur)


def test_vlan_port_is_created_on_its_trunk_and_checked():
    member = bl.member_data(1)
    member["ports"] = [{"interface": "trunk0", "vlan": 101}]
    cfg = _cfg(member)
    cur = Current(links={"trunk0": _link(1, "trunk0", kind=None)}, bridge=None)
    ops = make_plan(desired_state(cfg), cur)
    vlan = [op for op in ops if op.kind == "vlan"]
    assert [(op.param("ifname"), op.param("parent"), op.param("vid")) for op in vlan] == [
        ("trunk0.101", "trunk0", 101)]
    assert ("add", "fdb 02:00:5e:10:00:01 on trunk0.101") in {(o.action, o.target) for o in ops}

    cur.links["trunk0.101"] = _link(2, "trunk0.101", kind="vlan", parent=1, vid=102)
    with pytest.raises(PlanError, match=r"is not VLAN 101 on trunk0"):
        make_plan(desired_state(cfg), cur)


def test_vlan_device_name_too_long_is_refused():
    member = bl.member_data(1)
    member["ports"] = [{"interface": "enp129s0f1np1", "vlan": 3001}]
    cur = Current(links={"enp129s0f1np1": _link(1, "enp129s0f1np1")}, bridge=None)
    with pytest.raises(PlanError, match="longer than 15 characters"):
        make_plan(desired_state(_cfg(member)), cur)


def test_a_trunk_cannot_also_be_an_untagged_port():
    tagged = bl.member_data(1)
    tagged["ports"] = [{"interface": "trunk0", "vlan": 101}]
    untagged = bl.member_data(2, port="trunk0")
    # validation refuses it first, on both members' port fields
    with pytest.raises(ConfigError, match=r"members\[1\]\.ports\[0\]\.interface: trunk0 "
                                          r"carries VLAN ports of AS4200000001"):
        _cfg(tagged, untagged)
    # and the plan too, for a model made without the semantic checks
    data = _cfg(tagged, bl.member_data(2)).model_dump(mode="json")
    data["members"][1]["ports"] = [{"interface": "trunk0"}]
    cfg = IXPConfig.model_validate(data)
    cur = Current(links={"trunk0": _link(1, "trunk0")}, bridge=None)
    with pytest.raises(PlanError, match=r"members\[1\]\.ports\[0\]\.interface: trunk0 "
                                        r"carries members' VLANs"):
        make_plan(desired_state(cfg), cur)


def test_a_trunk_is_brought_up_and_made_large_enough_for_its_vlans():
    member = bl.member_data(1)
    member["ports"] = [{"interface": "trunk0", "vlan": 101}]
    other = bl.member_data(2)
    other["ports"] = [{"interface": "trunk0", "vlan": 102}]
    cfg = _cfg(member, other)
    cur = Current(links={"trunk0": _link(1, "trunk0", kind=None, mtu=1400)}, bridge=None)
    trunk = [op for op in make_plan(desired_state(cfg), cur) if op.kind == "trunk"]
    assert [(op.target, op.detail) for op in trunk] == [("trunk trunk0", "mtu=1500, up=True")]
    # up and large enough (a larger MTU stays): nothing to do for it
    cur.links["trunk0"] = _link(1, "trunk0", kind=None, mtu=9000, up=True)
    assert not [op for op in make_plan(desired_state(cfg), cur) if op.kind == "trunk"]


def test_a_trunk_answers_arp_only_for_its_own_addresses():
    """Untagged frames on a trunk reach the box's own stack; with the kernel's default
    arp_ignore (0) it answered ARP there for the peering LAN's addresses."""
    member = bl.member_data(1)
    member["ports"] = [{"interface": "trunk0", "vlan": 101}]
    cfg = _cfg(member)
    cur = Current(links={"trunk0": _link(1, "trunk0", kind=None, up=True, arp_ignore=0)},
                  bridge=None)
    trunk = [op for op in make_plan(desired_state(cfg), cur) if op.kind == "trunk"]
    assert [(op.target, op.detail) for op in trunk] == [("trunk trunk0", "arp_ignore=1")]
    cur.links["trunk0"] = _link(1, "trunk0", kind=None, up=True, arp_ignore=1)
    assert not [op for op in make_plan(desired_state(cfg), cur) if op.kind == "trunk"]
