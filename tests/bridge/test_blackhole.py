"""The bridge side of blackholing (issue 20): members' routers find the blackhole MAC for the
route server's blackhole next hops (ARP and ND), and what they send there is dropped at their
own port, counted, and reaches nobody; the box itself never receives it.

Real namespaces, the real bridge concern and ruleset, frames sent and sniffed with scapy.
"""

from __future__ import annotations

import bridgelab as bl
import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from appliance.bridge.concern import BridgeConcern
from appliance.bridge.desired import BLACKHOLE_PEER, BLACKHOLE_PORT
from appliance.bridge.reconcile import blackhole_netns, plan_bridge
from appliance.bridge.status import drops_by_port
from appliance.config.loader import config_from_data
from appliance.pipeline.run import Pipeline
from appliance.platform import netns as labns
from appliance.platform.target import Target
from labkit.frames import Sender, Sniffer

pytestmark = pytest.mark.netns

BH4, BH6, BH_MAC = "203.0.113.66", "2001:db8:eeee::666", "66:66:66:66:66:66"


def _config(members: list[dict], **blackhole: str):
    cfg = bl.config(members).model_dump(mode="json", exclude_defaults=True)
    cfg["route_server"].update(blackhole)
    return config_from_data(cfg)


def _apply(state, app: str, cfg) -> None:
    out = Pipeline(Target(state, app), [BridgeConcern()]).run(cfg, author="test")
    assert out.ok, out.error


def _neighbour(ns: str, addr: str) -> str:
    """The MAC ``ns``'s kernel resolved for ``addr`` (after a ping made it ask)."""
    labns.run(ns, ["ping", "-c1", "-W1", addr], check=False)
    return bl.sh(ns, "ip", "neigh", "show", addr)


def test_members_resolve_the_blackhole_and_what_they_send_there_is_dropped(netlab,
                                                                           tmp_path):
    members = [bl.member_data(1), bl.member_data(2)]
    app, (a, b) = bl.build(netlab, members)
    cfg = _config(members, blackhole_ipv4=BH4, blackhole_ipv6=BH6)
    _apply(tmp_path, app, cfg)
    far = blackhole_netns(Target(tmp_path, app))
    assert labns.exists(far), "the far end lives in a namespace of its own"
    assert BH4 not in bl.sh(app, "ip", "addr") and BH6 not in bl.sh(app, "ip", "addr"), \
        "the blackhole addresses are never the box's own"

    # ARP (answered by the bridge) and ND (answered by the far end) give the blackhole MAC
    assert BH_MAC in _neighbour(a.ns, BH4)
    assert BH_MAC in _neighbour(a.ns, BH6)

    sniff_b = Sniffer.open(b.ns)
    sniff_far = Sniffer.open(far, BLACKHOLE_PEER)
    send = Sender(a.ns)
    try:
        # traffic for a blackholed destination: the member's router sends it to the MAC
        frames = [bytes(Ether(src=a.mac, dst=BH_MAC) / IP(src=a.ipv4, dst="198.51.100.7")
                        / UDP(sport=4000, dport=53) / Raw(b"attack " * 20)),
                  bytes(Ether(src=a.mac, dst=BH_MAC) / IPv6(src=a.ipv6, dst="2001:db8:99::7")
                        / UDP(sport=4000, dport=53) / Raw(b"attack " * 20))]
        before = drops_by_port(Target(tmp_path, app)).get(a.port, {}).get("blackhole", 0)
        for frame in frames * 5:
            send.send(frame)
        assert bl.poll(lambda: drops_by_port(Target(tmp_path,
                                                    app))[a.port]["blackhole"] >= before + 10), \
            drops_by_port(Target(tmp_path, app)).get(a.port)
        assert not any(sniff_b.seen(f) for f in frames), "another member received it"
        assert not any(sniff_far.seen(f) for f in frames), "it left the member's port"
    finally:
        send.close()
        sniff_b.close()
        sniff_far.close()

    # nothing left to do on a second apply (the port's signature is its alias)
    assert plan_bridge(cfg, Target(tmp_path, app)) == []


def test_a_changed_blackhole_is_remade_and_a_removed_one_goes(netlab, tmp_path):
    members = [bl.member_data(1)]
    app, (a,) = bl.build(netlab, members)
    _apply(tmp_path, app, _config(members, blackhole_ipv4=BH4, blackhole_ipv6=BH6))
    _apply(tmp_path, app, _config(members, blackhole_ipv4=BH4,
                                  blackhole_ipv6="2001:db8:eeee::667",
                                  blackhole_mac="02:66:00:00:06:66"))
    assert "02:66:00:00:06:66" in _neighbour(a.ns, "2001:db8:eeee::667")
    assert "02:66:00:00:06:66" in _neighbour(a.ns, BH4)
    _apply(tmp_path, app, _config(members))
    assert BLACKHOLE_PORT not in bl.sh(app, "ip", "link")
    assert not labns.exists(blackhole_netns(Target(tmp_path, app)))
    chain = bl.sh(app, "nft", "list", "chain", "bridge", "ixp_hygiene", f"port_{a.port}")
    assert "02:66:00:00:06:66" not in chain and BH_MAC not in chain, chain


def test_no_member_may_take_the_blackhole_mac_address_or_port():
    from appliance.config.errors import ConfigError

    members = [bl.member_data(1, mac=BH_MAC, ipv4=BH4, port="ixbh0")]
    with pytest.raises(ConfigError) as err:
        _config(members, blackhole_ipv4=BH4)
    said = {i.path: i.message for i in err.value.issues}
    assert "the blackhole (route_server.blackhole_ipv4)" in said["members[0].ipv4[0]"]
    assert "the blackhole (route_server.blackhole_mac)" in said["members[0].macs[0]"]
    assert "the blackhole's port" in said["members[0].ports[0].interface"]
    _config([bl.member_data(1, mac=BH_MAC)])  # without blackholing the MAC is a member's to use
