"""Port inventory and drop statistics, read from a real namespace."""

from __future__ import annotations

import json

import bridgelab as bl
import pytest
from scapy.layers.l2 import LLC, SNAP, Dot3
from scapy.packet import Raw

from appliance.bridge import nft
from appliance.bridge.concern import BridgeConcern
from appliance.bridge.inventory import inventory
from appliance.bridge.render import REASONS
from appliance.bridge.status import drops_by_port, read_drops
from appliance.pipeline.run import Pipeline
from appliance.platform.target import Target
from labkit.frames import Sender
from labkit.netlab import veth

pytestmark = pytest.mark.netns


def test_inventory_lists_every_nic_with_its_role(netlab, tmp_path):
    members = [bl.member_data(1), bl.member_data(2)]
    app, _ = bl.build(netlab, members)
    veth(app, "eth0", "spare0", up=False)
    cfg = bl.config(members)  # management.interface defaults to eth0
    assert Pipeline(Target(tmp_path / "s", app), concerns=[BridgeConcern()]).run(
        cfg, author="test").ok

    nics = {n.name: n for n in inventory(cfg, Target(tmp_path, app))}
    assert set(nics) == {"br-ixp", "ixp1", "ixp2", "eth0", "spare0"}  # not lo, not the host's
    assert (nics["eth0"].role, nics["spare0"].role, nics["br-ixp"].role) == (
        "management", "free", "peering-lan")
    assert nics["ixp2"].role == "member" and nics["ixp2"].used_by == "AS4200000002 Member 2"
    links = {x["ifname"]: x for x in json.loads(bl.sh(app, "ip", "-j", "link"))}
    for name, nic in nics.items():
        assert nic.mac == links[name]["address"]
        assert nic.mtu == links[name]["mtu"]
    assert nics["ixp1"].driver == "veth" and nics["ixp1"].kind == "veth"
    assert nics["ixp1"].operstate == "up" and nics["ixp1"].carrier
    assert nics["spare0"].operstate == "down" and not nics["spare0"].carrier
    assert nics["ixp1"].speed_mbps is None or nics["ixp1"].speed_mbps > 0
    # what the kernel says the port is in (the status API shows it as a port's "bridge")
    assert nics["ixp1"].master == "br-ixp" and nics["spare0"].master is None


def test_drop_statistics_per_port_and_reason(netlab, tmp_path):
    members = [bl.member_data(1), bl.member_data(2)]
    app, (a, _b) = bl.build(netlab, members)
    box = Target(tmp_path, app)
    assert read_drops(box) == [] and not nft.table_loaded(box)  # no ruleset, no counters
    assert Pipeline(Target(tmp_path / "s", app), concerns=[BridgeConcern()]).run(
        bl.config(members), author="test").ok

    sender = Sender(a.ns)
    frame = bytes(Dot3(src=a.mac, dst="ff:ff:ff:ff:ff:ff") / LLC(dsap=0xAA, ssap=0xAA, ctrl=3)
                  / SNAP(OUI=0, code=0x0800) / Raw(b"x" * 40))
    for _ in range(3):
        sender.send(frame)
    sender.close()
    assert bl.poll(lambda: drops_by_port(Target(tmp_path, app))["ixp1"]["ethertype"] == 3)

    drops = read_drops(Target(tmp_path, app))
    ethertype = next(d for d in drops if (d.port, d.reason) == ("ixp1", "ethertype"))
    assert ethertype.bytes == 3 * (len(frame) - 14)  # nft counts from after the MAC header
    assert ethertype.as_dict()["description"] == REASONS["ethertype"]
    assert [d.reason for d in drops if d.port == "ixp2"] == [
        r for r in REASONS if not r.startswith("quarantine")]  # in the documented order
    # ixp2 sent nothing but its kernel's own MLD reports (for its solicited-node groups),
    # which the LAN does not carry: they count as ipv6_multicast.
    assert {d.reason for d in drops if d.port == "ixp2" and d.packets} <= {"ipv6_multicast"}
