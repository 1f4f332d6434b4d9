"""A trunk NIC's arp_ignore, written and read back in a namespace of the test's own: the
trunk op of the plan (the only one an already-up trunk gets) sets it, the netlink reader sees
it, and the plan has nothing left to do. VLAN devices themselves need the image's kernel
(tests/image/test_image_boot.py sends the untagged ARP there)."""

from __future__ import annotations

import bridgelab as bl

from appliance.bridge.desired import desired_state
from appliance.bridge.netlink_state import read_links, read_state
from appliance.bridge.plan import make_plan
from appliance.bridge.reconcile import NetlinkWriter
from appliance.platform import netns
from appliance.platform.netlink import open_netlink
from appliance.platform.target import Target
from labkit.netlab import veth


def test_the_trunk_op_sets_arp_ignore_and_the_reader_sees_it(netlab, tmp_path):
    ns = netlab.namespace("trunk")
    veth(ns, "trunk0", "far0")
    member = bl.member_data(1)
    member["ports"] = [{"interface": "trunk0", "vlan": 101}]
    cfg = bl.config([member])
    target = Target(tmp_path, ns)
    with open_netlink(ns) as ipr:
        assert read_links(ipr)["trunk0"].arp_ignore == 0  # the kernel's default
        ops = [op for op in make_plan(desired_state(cfg), read_state(ipr, "br-ixp"))
               if op.kind == "trunk"]
        assert [op.detail for op in ops] == ["arp_ignore=1"]
        writer = NetlinkWriter(ipr, target=target)
        for op in ops:
            writer.run(op)
        assert read_links(ipr)["trunk0"].arp_ignore == 1
        again = [op for op in make_plan(desired_state(cfg), read_state(ipr, "br-ixp"))
                 if op.kind == "trunk"]
        assert again == []
    said = netns.run(ns, ["cat", "/proc/sys/net/ipv4/conf/trunk0/arp_ignore"]).stdout
    assert said.strip() == "1"


def test_a_sysctl_key_outside_proc_sys_net_is_refused():
    for key in ("../kernel/hostname", "/etc/passwd", "ipv4/../../kernel/x"):
        try:
            netns.write_net_sysctl("nowhere", key, 1)
        except ValueError as exc:
            assert "not a key under /proc/sys/net" in str(exc)
        else:
            raise AssertionError(f"{key} was accepted")
