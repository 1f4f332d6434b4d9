"""A new VRP file's ASPA records reach routes the route server already holds, on a live BIRD.

The records are part of bird.conf, so an import re-applies through the pipeline; the filters'
text does not change, so without the concern's route refresh BIRD would keep judging held
routes by the records they arrived under. Two members: AS10001 (policy: reject Invalid)
announces a path through AS10042, AS10002 (the default, tag only) another through AS10042.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from appliance.lab.member_conf import Announce, member_conf
from appliance.pipeline.concern import ApplyContext
from appliance.pipeline.run import Pipeline
from appliance.platform.bird.control import BirdControl
from appliance.platform.target import Target
from appliance.route_server.communities import INFO, LC_INFO, LC_REJECT, REJECT
from appliance.route_server.concern import RouteServerConcern
from appliance.route_server.daemon import running_pid
from appliance.route_server.render import session_name
from appliance.route_server.rpki_service import vrp_path
from appliance.route_server.safe_apply import GateSettings
from labkit.netlab import open_lab, wait_for
from tests.bird.configs import LAN4, LAN6, config, member

pytestmark = pytest.mark.netns

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "bird" / "vrps.json"
GATE = GateSettings(confirm_timeout=30, settle=1.0)
RS = 65000
S1 = session_name(10001, str(LAN4[10]))
S2 = session_name(10002, str(LAN4[11]))
LEAK1 = "31.1.48.0/24"  # (10001, 10042): AS10042 names only AS10003 as provider
LEAK2 = "31.2.48.0/24"  # (10002, 10042)
ASPA_TAGS = {INFO["aspa_valid"], INFO["aspa_unknown"], INFO["aspa_invalid_tagged"]}


def _cfg():
    return config([member(1, 10001, ipv6=[], policy={"aspa": "reject_invalid"}),
                   member(2, 10002, ipv6=[])])


def _pipeline(state: Path, netns: str) -> Pipeline:
    # as appliance.box builds it for every change: the records are read from the state dir
    return Pipeline(Target(state, netns), concerns=[RouteServerConcern.from_state(state,
                                                                                  gate=GATE)])


def _tags(ctl: Path, session: str, prefix: str) -> tuple[set[int], set[int]]:
    with BirdControl(ctl) as bc:
        (route,) = [r for r in bc.session_routes(session) if r.prefix == prefix]
    own = [lc for lc in route.large_communities if lc[0] == RS]
    # only the ASPA ones (RPKI and IRR add their own tags)
    return ({lc[2] for lc in own if lc[1] == LC_INFO} & ASPA_TAGS,
            {lc[2] for lc in own if lc[1] == LC_REJECT})


def test_imported_aspa_records_reverify_held_routes(tmp_path):
    lab = open_lab(tmp_path / "lab")
    try:
        rs = lab.make_rs(str(LAN4[1]), str(LAN6[1]), LAN4.prefixlen, LAN6.prefixlen)
        state = lab.root / "state"
        first = _pipeline(state, rs.ns).run(_cfg(), author="test", comment="no VRP file")
        assert first.ok, first.error
        ctx = ApplyContext(Target(state, rs.ns))
        pid = running_pid(ctx.target)  # the apply started BIRD in the namespace
        assert pid, "the route-server apply must start BIRD in its namespace"
        lab.pids.append(pid)
        for i, asn, prefix in ((1, 10001, LEAK1), (2, 10002, LEAK2)):
            node = lab.add_member(f"m{i}", [str(LAN4[i + 9])], [], LAN4.prefixlen,
                                  LAN6.prefixlen)
            lab.start_bird(node, member_conf(
                asn=asn, router_id=str(LAN4[i + 9]), rs_asn=RS, local4=str(LAN4[i + 9]),
                rs4=str(LAN4[1]), local6=None, rs6=None,
                routes=[Announce(prefix, (asn, 10042))]))
        ctl = ctx.run_dir / "bird.ctl"

        def held() -> bool:
            with BirdControl(ctl) as bc:
                return all(bc.protocol(s).established and bc.session_routes(s)
                           for s in (S1, S2))
        wait_for("both sessions up with their route", held, timeout=60)
        # No records yet: AS10042 publishes nothing as far as the route server knows.
        assert _tags(ctl, S1, LEAK1) == ({INFO["aspa_unknown"]}, set())
        assert _tags(ctl, S2, LEAK2) == ({INFO["aspa_unknown"]}, set())

        vrp_path(state).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(FIXTURE, vrp_path(state))
        again = _pipeline(state, rs.ns).run(_cfg(), author="test", comment="VRP file")
        assert again.ok, again.error
        assert "route aspa 10042 providers 10003;" in (ctx.etc_dir / "bird/bird.conf").read_text()

        def reverified() -> bool:
            return (_tags(ctl, S1, LEAK1) == (set(), {REJECT["aspa_invalid"]})
                    and _tags(ctl, S2, LEAK2) == ({INFO["aspa_invalid_tagged"]}, set()))
        wait_for("the held routes to be checked against the new records", reverified,
                 timeout=30)
        with BirdControl(ctl) as bc:
            # (the reply parser reads prefixes; ASPA "nets" are ASNs, so read BIRD's count)
            assert "4 of 4 routes" in bc.command("show route table rs_aspa count").raw
            for s in (S1, S2):
                assert bc.protocol(s).established, "a route refresh keeps the sessions up"
    finally:
        lab.close()
