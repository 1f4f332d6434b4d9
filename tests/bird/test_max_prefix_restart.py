"""Max-prefix ``restart`` on real BIRDs: the session stays down for the hold time, then recovers.

One member with an IPv4 limit of 2 announces 3 routes; the route server restarts the session.
The member then goes down to 2 routes: its session must stay down for the hold time
(``max_prefix_restart_after``, 5 s here instead of the default 15 min) and then come back up
with both routes.
"""

from __future__ import annotations

import time

import pytest

from appliance.lab.member_conf import Announce, member_conf
from appliance.platform.bird.control import BirdUnavailable
from appliance.platform.bird.replies import BirdError
from appliance.route_server import max_prefix_trips as mpt
from appliance.route_server.bogons import load_bogons
from appliance.route_server.render import render_bird, session_name
from labkit.netlab import Node, open_lab, wait_for
from tests.bird.configs import LAN4, LAN6, config, member

pytestmark = pytest.mark.netns

HOLD = 5
ASN = 10001
LIMIT = 2


def _member_conf(n: int) -> str:
    routes = [Announce(f"31.1.{i}.0/24", (ASN,)) for i in range(1, n + 1)]
    return member_conf(asn=ASN, router_id=str(LAN4[10]), rs_asn=65000, local4=str(LAN4[10]),
                       rs4=str(LAN4[1]), local6=None, rs6=None, routes=routes)


def _session(rs: Node, name: str):
    try:
        with rs.control() as bc:
            return bc.protocol(name)
    except (BirdUnavailable, BirdError):
        return None


def test_restart_waits_the_hold_time_then_recovers(tmp_path):
    cfg = config([member(1, ASN, ipv6=[], max_prefix={"ipv4": LIMIT, "ipv6": 10},
                         policy={"max_prefix_action": "restart",
                                 "max_prefix_restart_after": HOLD})],
                 policy={"irr": "off"})
    text = render_bird(cfg, load_bogons())
    assert f"error wait time {HOLD}, {HOLD};" in text
    name = session_name(ASN, str(LAN4[10]))
    lab = open_lab(tmp_path)
    try:
        rs = lab.make_rs(str(LAN4[1]), str(LAN6[1]), LAN4.prefixlen, LAN6.prefixlen)
        node = lab.add_member("m1", [str(LAN4[10])], [], LAN4.prefixlen, LAN6.prefixlen)
        lab.start_bird(rs, text)
        lab.start_bird(node, _member_conf(LIMIT + 1))

        def tripped() -> bool:
            p = _session(rs, name)
            return p is not None and "limit" in (
                p.info + " " + p.details.get("Last error", "")).lower()
        wait_for("the max-prefix limit to trip", tripped, timeout=60)
        seen = time.monotonic()
        # The status code records the trip from the session's state, once.
        state = tmp_path / "state"
        trip = mpt.record(state, [(_session(rs, name), ASN, "Member 1", "ipv4")])
        assert [(t.session, t.action, t.limit) for t in trip] == [(name, "down", LIMIT)]
        assert mpt.record(state, [(_session(rs, name), ASN, "Member 1", "ipv4")]) == []
        (node.dir / "bird.conf").write_text(_member_conf(LIMIT))
        with node.control() as mc:
            mc.configure(node.dir / "bird.conf")

        # Within the hold time the route server refuses the member's reconnects.
        while time.monotonic() - seen < HOLD - 2:
            p = _session(rs, name)
            assert p is not None and not p.established, "the session came back before the hold"
            time.sleep(0.25)

        def recovered() -> bool:
            p = _session(rs, name)
            return p is not None and p.established and p.routes("imported") == LIMIT
        wait_for("the session to come back with the member's 2 routes", recovered, timeout=30)
        assert time.monotonic() - seen >= HOLD - 1.5
        time.sleep(2)
        p = _session(rs, name)
        assert p is not None and p.established, "within the limit the session stays up"
        assert mpt.record(state, [(p, ASN, "Member 1", "ipv4")]) == []
        assert len(mpt.load_trips(state)) == 1
    finally:
        lab.close()
