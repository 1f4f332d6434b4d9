"""Bridge reconcile over real netlink, in namespaces the tests create."""

from __future__ import annotations

import json
from pathlib import Path

import bridgelab as bl
import pytest

from appliance.bridge.desired import bridge_mac
from appliance.bridge.plan import PlanError
from appliance.bridge.reconcile import plan_bridge, reconcile
from appliance.platform import netns as labns
from appliance.platform.target import Target

# These calls only read or change the namespace: no state directory is involved.
NO_STATE = Path("/nonexistent")

pytestmark = pytest.mark.netns


def _ports(ns: str) -> dict[str, dict]:
    return {p["ifname"]: p for p in json.loads(bl.sh(ns, "bridge", "-j", "-d", "link"))
            if p.get("master") == "br-ixp"}


def _static_fdb(ns: str) -> set[tuple[str, str]]:
    return {(e["ifname"], e["mac"]) for e in json.loads(bl.sh(ns, "bridge", "-j", "fdb"))
            if "static" in e.get("state", "") and e.get("master") == "br-ixp"}


def _neigh(ns: str) -> dict[str, str]:
    entries = json.loads(bl.sh(ns, "ip", "-j", "neigh", "show", "dev", "br-ixp"))
    return {e["dst"]: e["lladdr"] for e in entries if "PERMANENT" in e.get("state", [])}


def _addresses(ns: str) -> set[str]:
    data = json.loads(bl.sh(ns, "ip", "-j", "addr", "show", "dev", "br-ixp"))[0]
    return {f"{a['local']}/{a['prefixlen']}" for a in data["addr_info"]
            if a.get("scope") == "global"}


def _wait_links_up(ns: str, names: list[str]) -> None:
    def up() -> bool:
        links = {x["ifname"]: x for x in json.loads(bl.sh(ns, "ip", "-j", "link"))}
        return all(links[n]["operstate"] == "UP" for n in names)
    assert bl.poll(up), f"links {names} did not come up in {ns}"


def test_cold_apply_builds_the_lan_and_noop_reapply_writes_nothing(netlab):
    members = [bl.member_data(i) for i in (1, 2, 3)]
    app, _ = bl.build(netlab, members)
    cfg = bl.config(members)
    monitor = bl.NetlinkMonitor(app)
    monitor.fence()

    writes = reconcile(cfg, Target(NO_STATE, app))

    assert {op.kind for op in writes} == {"bridge", "port", "brport", "fdb", "neigh", "address"}
    _wait_links_up(app, ["br-ixp", "ixp1", "ixp2", "ixp3"])
    assert monitor.fence(), "the monitor must see the cold apply's writes (else it is blind)"
    bl.poll(lambda: not monitor.fence(), timeout=3)  # let the kernel's own events settle

    # The bridge: STP off, MTU, stable MAC, snooping off.
    info = json.loads(bl.sh(app, "ip", "-j", "-d", "link", "show", "br-ixp"))[0]
    assert info["linkinfo"]["info_data"]["stp_state"] == 0
    assert info["linkinfo"]["info_data"]["mcast_snooping"] == 0
    assert info["mtu"] == 1500 and info["address"] == bridge_mac(cfg)
    # Ports: locked, no learning, ARP answered by the bridge, no unknown-unicast flooding.
    ports = _ports(app)
    assert set(ports) == {"ixp1", "ixp2", "ixp3"}
    for name in ports:
        p = json.loads(bl.sh(app, "ip", "-j", "-d", "link", "show", name))[0]
        p = p["linkinfo"]["info_slave_data"]
        assert (p["learning"], p["locked"], p["proxy_arp_wifi"], p["flood"]) == (
            False, True, True, False), p
        assert p["mcast_flood"] and p["bcast_flood"]
    assert _static_fdb(app) == {(m["ports"][0], m["macs"][0]) for m in members}
    assert _neigh(app) == {
        **{m["ipv4"][0]: m["macs"][0] for m in members},
        **{m["ipv6"][0]: m["macs"][0] for m in members},
    }
    assert _addresses(app) == {f"{bl.RS4}/24", f"{bl.RS6}/64"}

    # Second apply of the same config: nothing planned, nothing written, no netlink event.
    assert plan_bridge(cfg, Target(NO_STATE, app)) == []
    assert reconcile(cfg, Target(NO_STATE, app)) == []
    assert monitor.fence() == []
    monitor.close()


def test_add_change_remove_members_touches_only_config_interfaces(netlab):
    members = [bl.member_data(i) for i in (1, 2, 3, 4)]
    app, _ = bl.build(netlab, members)
    # Interfaces the config never names: another bridge with a port, a spare veth.
    bl.sh(app, "ip", "link", "add", "br-other", "type", "bridge")
    bl.sh(app, "ip", "link", "add", "oth1", "mtu", "1400", "type", "veth", "peer", "name",
          "oth2")
    bl.sh(app, "ip", "link", "set", "oth1", "master", "br-other")
    before_other = bl.snapshot(app)["link"]
    others = {"br-other", "oth1", "oth2"}

    reconcile(bl.config(members[:3]), Target(NO_STATE,
                                             app))  # members 1-3; ixp4 is not in the config yet
    assert set(_ports(app)) == {"ixp1", "ixp2", "ixp3"}
    assert "master" not in json.loads(bl.sh(app, "ip", "-j", "link", "show", "ixp4"))[0]

    # Member 2 changes MAC and IPv4 address, member 3 leaves, member 4 joins.
    changed = [members[0],
               bl.member_data(2, mac="02:00:5e:10:02:22", ipv4="203.0.113.42"),
               members[3]]
    cfg = bl.config(changed)
    writes = reconcile(cfg, Target(NO_STATE, app))
    summary = {(op.action, op.kind, op.target) for op in writes}
    assert ("remove", "port", "port ixp3") in summary
    assert ("remove", "fdb", "fdb 02:00:5e:10:00:02 on ixp2") in summary
    assert ("add", "fdb", "fdb 02:00:5e:10:02:22 on ixp2") in summary
    assert ("remove", "neigh", "neighbour 203.0.113.13") in summary
    assert ("remove", "neigh", "neighbour 203.0.113.12") in summary
    assert ("add", "neigh", "neighbour 203.0.113.42") in summary
    assert ("change", "neigh", "neighbour 2001:db8:eeee::12") in summary  # new MAC

    assert set(_ports(app)) == {"ixp1", "ixp2", "ixp4"}
    assert _static_fdb(app) == {("ixp1", bl.member_mac(1)), ("ixp2", "02:00:5e:10:02:22"),
                                ("ixp4", bl.member_mac(4))}
    neigh = _neigh(app)
    assert "203.0.113.13" not in neigh and "2001:db8:eeee::13" not in neigh
    assert neigh["203.0.113.42"] == "02:00:5e:10:02:22"
    assert neigh["2001:db8:eeee::12"] == "02:00:5e:10:02:22"
    assert "203.0.113.12" not in neigh
    assert reconcile(cfg, Target(NO_STATE, app)) == []

    # The interfaces not named in the config are exactly as they were.
    def pick(links: list[dict]) -> list[dict]:
        return [x for x in links if x["ifname"] in others]
    assert pick(bl.snapshot(app)["link"]) == pick(before_other)


def test_missing_or_renamed_port_is_refused_and_changes_nothing(netlab):
    members = [bl.member_data(i) for i in (1, 2, 3)]
    app, _ = bl.build(netlab, members)
    cfg = bl.config(members)
    reconcile(cfg, Target(NO_STATE, app))
    before = bl.snapshot(app)

    # A config naming a port that does not exist.
    bad = bl.config([*members[:2], bl.member_data(3, port="ixp9")])
    with pytest.raises(PlanError) as exc:
        reconcile(bad, Target(NO_STATE, app))
    assert "members[2].ports[0].interface: interface ixp9 does not exist in namespace " \
        f"{app}" in str(exc.value)
    assert bl.snapshot(app) == before

    # The operator renamed a NIC the config still names.
    bl.sh(app, "ip", "link", "set", "ixp2", "down")
    bl.sh(app, "ip", "link", "set", "ixp2", "name", "ixp2x")
    before = bl.snapshot(app)
    with pytest.raises(PlanError, match=r"members\[1\]\.ports\[0\]\.interface: interface ixp2 "):
        reconcile(cfg, Target(NO_STATE, app))
    assert bl.snapshot(app) == before


def test_port_of_another_bridge_is_refused(netlab):
    members = [bl.member_data(i) for i in (1, 2)]
    app, _ = bl.build(netlab, members)
    bl.sh(app, "ip", "link", "add", "br-other", "type", "bridge")
    bl.sh(app, "ip", "link", "set", "ixp2", "master", "br-other")
    before = bl.snapshot(app)
    with pytest.raises(PlanError, match=r"members\[1\]\.ports\[0\]\.interface: ixp2 already "
                                        r"belongs to br-other"):
        reconcile(bl.config(members), Target(NO_STATE, app))
    assert bl.snapshot(app) == before


def test_a_missing_namespace_is_an_error_and_is_not_created(root_required):
    name = "ixt-missing-bridge-ns"
    assert not labns.exists(name)
    with pytest.raises(ValueError, match=f"network namespace {name} does not exist"):
        plan_bridge(bl.config([bl.member_data(1)]), Target(NO_STATE, name))
    assert not labns.exists(name)
