"""Issue 13 item 7: hygiene drop counters survive an apply that reloads the ruleset.

Real nft in namespaces of our own, real frames (scapy): drops counted before a configuration
change are still there after it and keep growing; counters of ports that left go away.
"""

from __future__ import annotations

import json
from pathlib import Path

import bridgelab as bl
import pytest
from scapy.layers.l2 import LLC, SNAP, Dot3
from scapy.packet import Raw

from appliance.bridge import nft
from appliance.bridge.concern import BridgeConcern
from appliance.bridge.status import drops_by_port, read_drops
from appliance.pipeline.run import Pipeline
from appliance.platform.target import Target
from labkit.frames import Sender

# These calls only read or change the namespace: no state directory is involved.
NO_STATE = Path("/nonexistent")

pytestmark = pytest.mark.netns


def _llc(src: bl.MemberNS) -> bytes:
    # LLC/SNAP: dropped on every port for its ethertype (the rule before quarantine's own)
    return bytes(Dot3(src=src.mac, dst="ff:ff:ff:ff:ff:ff") / LLC(dsap=0xAA, ssap=0xAA, ctrl=3)
                 / SNAP(OUI=0, code=0x0800) / Raw(b"x" * 40))


def _send(member: bl.MemberNS, count: int) -> bytes:
    frame = _llc(member)
    sender = Sender(member.ns)
    try:
        for _ in range(count):
            sender.send(frame)
    finally:
        sender.close()
    return frame


def _ethertype(app: str, port: str) -> int:
    return drops_by_port(Target(NO_STATE, app)).get(port, {}).get("ethertype", -1)


def test_drop_counters_survive_a_ruleset_reload(netlab, tmp_path):
    members = [bl.member_data(1), bl.member_data(2), bl.member_data(3)]
    app, (a, b, c) = bl.build(netlab, members)
    concern = BridgeConcern()
    pipe = Pipeline(Target(tmp_path / "state", app), concerns=[concern])
    assert pipe.run(bl.config(members), author="test").ok
    frame = _send(a, 3)
    _send(b, 2)
    _send(c, 1)
    assert bl.poll(lambda: (_ethertype(app, "ixp1"), _ethertype(app, "ixp2"),
                            _ethertype(app, "ixp3")) == (3, 2, 1))

    # A change that alters the ruleset: member 2 into quarantine (new chain and counters),
    # member 3 leaves (its chain and counters must go).
    changed = [members[0], bl.member_data(2, quarantine=True)]
    out = pipe.run(bl.config(changed), author="test")
    assert out.ok, out.error
    assert concern.last_ruleset_loaded  # the ruleset really was reloaded
    drops = drops_by_port(Target(tmp_path, app))
    assert drops["ixp1"]["ethertype"] == 3
    assert drops["ixp2"]["ethertype"] == 2
    # new counters (at zero, but the member's own IPv6 chatter may already count in them)
    assert {"quarantine", "quarantine_to"} <= set(drops["ixp2"])
    assert "ixp3" not in drops
    ixp1 = next(d for d in read_drops(Target(tmp_path, app)) if (d.port, d.reason) == ("ixp1",
                                                                                       "ethertype"))
    assert ixp1.bytes == 3 * (len(frame) - 14)  # bytes carried too, not only packets

    # New drops add to the kept counts; the reloaded rules still count into them.
    _send(a, 2)
    _send(b, 1)
    assert bl.poll(lambda: (_ethertype(app, "ixp1"), _ethertype(app, "ixp2")) == (5, 3))

    # Nothing changed: no reload, nothing counted twice.
    concern.last_ruleset_loaded = False  # the pipeline may not call apply at all
    assert pipe.run(bl.config(changed), author="test").ok
    assert not concern.last_ruleset_loaded
    assert (_ethertype(app, "ixp1"), _ethertype(app, "ixp2")) == (5, 3)

    # Member 3 back: its counters were removed with it, so they start again from zero (no
    # member sends LLC frames on its own, so this one stays 0 until the test sends one).
    assert pipe.run(bl.config([*changed, members[2]]), author="test").ok
    assert concern.last_ruleset_loaded
    assert drops_by_port(Target(tmp_path, app))["ixp3"]["ethertype"] == 0
    assert drops_by_port(Target(tmp_path, app))["ixp1"]["ethertype"] == 5
    _send(c, 1)
    assert bl.poll(lambda: _ethertype(app, "ixp3") == 1)
    # The table holds exactly the new ruleset's chains and counters: nothing left over.
    listing = json.loads(bl.sh(app, nft.nft_binary(), "-j", "list", "table", "bridge",
                               "ixp_hygiene"))["nftables"]
    chains = {x["chain"]["name"] for x in listing if "chain" in x}
    assert chains == {"prerouting", "input", "forward", "port_ixp1", "port_ixp2", "port_ixp3",
                      "to_ixp2"}
    counters = {x["counter"]["name"] for x in listing if "counter" in x}
    # (plus each port's hidden counter of tagged frames, whose tag bytes read_drops adds)
    assert counters == {f"{d.port}/{d.reason}" for d in read_drops(Target(tmp_path, app))} | {
        f"{p}/tagged" for p in ("ixp1", "ixp2", "ixp3")}
    assert {"ixp2/quarantine", "ixp2/quarantine_to"} <= counters
    assert not any(n.startswith(("ixp1/quarantine", "ixp3/quarantine")) for n in counters)
