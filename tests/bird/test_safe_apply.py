"""The route-server concern on a live BIRD: verify, idempotent apply, safe apply with undo.

One lab (RS namespace with a bridge, two member BIRDs) is shared by the tests of this module;
each test leaves the route server on the two-member configuration it found.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.config.model import IXPConfig
from appliance.lab.member_conf import Announce, member_conf
from appliance.pipeline.concern import ApplyContext, RenderedFile, TargetRefused
from appliance.pipeline.run import Pipeline
from appliance.platform.bird.control import BirdControl, BirdUnavailable
from appliance.platform.bird.replies import BirdError, Protocol
from appliance.platform.target import IMAGE_MARKER, Target
from appliance.route_server.concern import RouteServerConcern
from appliance.route_server.daemon import CONF, BirdStartError, running_pid, start_bird, stop
from appliance.route_server.render import session_name
from appliance.route_server.safe_apply import (
    ApplyRefused,
    GateSettings,
    dropped,
    session_blocks,
    stable_sessions,
)
from labkit.netlab import open_lab, wait_for
from tests.bird.configs import LAN4, LAN6, config, member

pytestmark = pytest.mark.netns

GATE = GateSettings(confirm_timeout=30, settle=1.0)
S1 = session_name(10001, str(LAN4[10]))
S2 = session_name(10002, str(LAN4[11]))
S3 = session_name(10003, str(LAN4[12]))


def two_members() -> IXPConfig:
    return config([member(1, 10001), member(2, 10002)])


def three_members() -> IXPConfig:
    return config([member(1, 10001), member(2, 10002), member(3, 10003)])


class BrokenRender(RouteServerConcern):
    """Renders a file BIRD's parser refuses."""

    def render(self, cfg: IXPConfig) -> list[RenderedFile]:
        good, *rest = super().render(cfg)  # bird.conf first, then stayrtr's listen file
        return [RenderedFile(good.path, good.content + b"\nthis is not BIRD syntax;\n",
                             good.mode), *rest]


@pytest.fixture(scope="module")
def rs_lab(tmp_path_factory):
    """The RS BIRD started by start_bird() on what the pipeline installed, plus two members."""
    lab = open_lab(tmp_path_factory.mktemp("safeapply"))
    try:
        rs = lab.make_rs(str(LAN4[1]), str(LAN6[1]), LAN4.prefixlen, LAN6.prefixlen)
        state = lab.root / "state"
        pipe = Pipeline(Target(state, rs.ns), concerns=[RouteServerConcern(gate=GATE)])
        first = pipe.run(two_members(), author="test", comment="first")
        assert first.ok, first.error
        ctx = ApplyContext(Target(state, rs.ns))
        pid = running_pid(ctx.target)  # the apply started BIRD in the namespace
        assert pid, "the route-server apply must start BIRD in its namespace"
        lab.pids.append(pid)
        for i, asn in ((1, 10001), (2, 10002)):
            node = lab.add_member(f"m{i}", [str(LAN4[i + 9])], [], LAN4.prefixlen,
                                  LAN6.prefixlen)
            lab.start_bird(node, member_conf(
                asn=asn, router_id=str(LAN4[i + 9]), rs_asn=65000, local4=str(LAN4[i + 9]),
                rs4=str(LAN4[1]), local6=None, rs6=None,
                routes=[Announce(f"31.{i}.1.0/24", (asn,)), Announce(f"31.{i}.2.0/24", (asn,))]))
        ctl = ctx.run_dir / "bird.ctl"

        def both_up() -> bool:
            with BirdControl(ctl) as bc:
                return all(bc.protocol(s).established and bc.protocol(s).routes("imported")
                           for s in (S1, S2))
        wait_for("both member sessions established with routes", both_up, timeout=60)
        yield lab, pipe, ctx, ctl, pid
    finally:
        lab.close()


def _snapshot(ctl) -> tuple[str, dict[str, Protocol]]:
    with BirdControl(ctl) as bc:
        return bc.status().last_reconfiguration, {p.name: p for p in bc.protocols()}


def _sessions_unchanged(before: dict[str, Protocol], after: dict[str, Protocol]) -> None:
    for s in (S1, S2):
        assert after[s].established, f"{s} must stay established: {after[s]}"
        assert after[s].since == before[s].since, f"{s} must not have restarted: {after[s]}"


def test_same_config_twice_does_not_reconfigure(rs_lab):
    _lab, pipe, ctx, ctl, _pid = rs_lab
    reconf, before = _snapshot(ctl)
    out = pipe.run(two_members(), author="test")
    assert out.ok and not out.changes
    RouteServerConcern(gate=GATE).apply(two_members(), ctx, [])  # nothing changed: no-op
    reconf_after, after = _snapshot(ctl)
    assert reconf_after == reconf
    _sessions_unchanged(before, after)


def test_change_is_applied_and_confirmed_without_touching_other_sessions(rs_lab):
    _lab, pipe, _ctx, ctl, _pid = rs_lab
    reconf, before = _snapshot(ctl)
    out = pipe.run(three_members(), author="test", comment="add AS10003")
    assert out.ok, out.error
    reconf_after, after = _snapshot(ctl)
    assert reconf_after != reconf
    assert S3 in after and f"p_{S3}" in after
    _sessions_unchanged(before, after)
    with BirdControl(ctl) as bc:
        assert bc.configure_confirm().code == 19  # "Nothing to do": already confirmed
    back = pipe.run(two_members(), author="test", comment="remove AS10003 again")
    assert back.ok, back.error
    assert S3 not in _snapshot(ctl)[1]


def test_config_bird_refuses_is_stopped_at_verify(rs_lab):
    _lab, _pipe, ctx, ctl, _pid = rs_lab
    installed = (ctx.etc_dir / CONF).read_bytes()
    reconf, before = _snapshot(ctl)
    broken = Pipeline(ctx.target, concerns=[BrokenRender(gate=GATE)])
    out = broken.run(three_members(), author="test")
    assert not out.ok and out.stage == "verify"
    assert "syntax error" in (out.error or "")
    assert (ctx.etc_dir / CONF).read_bytes() == installed
    reconf_after, after = _snapshot(ctl)
    assert reconf_after == reconf and S3 not in after
    _sessions_unchanged(before, after)


def test_config_bird_refuses_at_apply_keeps_running_config(rs_lab):
    _lab, _pipe, ctx, ctl, _pid = rs_lab
    conf = ctx.etc_dir / CONF
    good = conf.read_bytes()
    reconf, before = _snapshot(ctl)
    conf.write_bytes(good + b"\nprotocol bgp broken { neighbor 185.1.0.99 as; }\n")
    try:
        with pytest.raises(ApplyRefused, match="BIRD refused the new configuration"):
            RouteServerConcern(gate=GATE).apply(two_members(), ctx, [CONF])
    finally:
        conf.write_bytes(good)
    reconf_after, after = _snapshot(ctl)
    assert reconf_after == reconf and "broken" not in after
    _sessions_unchanged(before, after)


def test_failed_health_gate_undoes_the_change(rs_lab):
    _lab, _pipe, ctx, ctl, _pid = rs_lab
    calls = []

    def flaky_check(bc: BirdControl) -> str | None:
        calls.append(1)
        return "the looking glass probe failed" if len(calls) == 1 else None

    _reconf, before = _snapshot(ctl)
    pipe = Pipeline(ctx.target, concerns=[RouteServerConcern(gate=GATE, check=flaky_check)])
    out = pipe.run(three_members(), author="test", comment="will fail the gate")
    assert not out.ok and out.stage == "apply"
    assert "looking glass probe failed" in (out.error or "")
    assert "previous configuration was restored" in (out.error or "")
    assert out.rolled_back
    _reconf_after, after = _snapshot(ctl)
    assert S3 not in after, "the undone change must not be running"
    _sessions_unchanged(before, after)
    assert b"c10003" not in (ctx.etc_dir / CONF).read_bytes()


def test_second_start_is_refused(rs_lab):
    _lab, _pipe, ctx, ctl, pid = rs_lab
    with pytest.raises(BirdStartError, match=f"already running .*{pid}"):
        start_bird(ctx.target)
    with BirdControl(ctl) as bc:
        assert bc.status().up  # the running BIRD kept its control socket


def test_max_prefix_restart_restarts_the_session(rs_lab):
    _lab, pipe, _ctx, ctl, _pid = rs_lab
    strict = config([member(1, 10001),
                     member(2, 10002, max_prefix={"ipv4": 1, "ipv6": 10},
                            policy={"max_prefix_action": "restart"})])
    out = pipe.run(strict, author="test", comment="AS10002 may send one route")
    assert out.ok, out.error
    with BirdControl(ctl) as bc:
        wait_for("the over-limit session to be restarted by its limit",
                 lambda: "limit exceeded" in bc.protocol(S2).details.get("Last error", ""),
                 timeout=30)
        assert bc.protocol(S1).established
    back = pipe.run(two_members(), author="test", comment="limit back to 100")
    assert back.ok, back.error
    with BirdControl(ctl) as bc:
        # BIRD waits out its error-wait time after an automatic restart; the operator's
        # disable/enable skips that wait.
        bc.disable(S2)
        bc.enable(S2)
    wait_for("AS10002 back", lambda: BirdControl(ctl).connect().protocol(S2).established,
             timeout=60)


def test_max_prefix_disable_shuts_the_session(rs_lab):
    _lab, pipe, _ctx, ctl, _pid = rs_lab
    strict = config([member(1, 10001),
                     member(2, 10002, max_prefix={"ipv4": 1, "ipv6": 10},
                            policy={"max_prefix_action": "disable"})])
    out = pipe.run(strict, author="test", comment="AS10002 may send one route")
    assert out.ok, out.error  # S2's own block changed: its restart is expected, not a drop
    with BirdControl(ctl) as bc:
        wait_for("the over-limit session to be disabled",
                 lambda: bc.protocol(S2).state == "down", timeout=30)
        shut = bc.protocol(S2)
        assert "Route limit exceeded" in shut.info
        assert shut.channels[0].receive_limit == 1 and shut.channels[0].limit_hit
        assert bc.protocol(S1).established
    back = pipe.run(two_members(), author="test", comment="limit back to 100")
    assert back.ok, back.error
    with BirdControl(ctl) as bc:
        if bc.protocol(S2).state == "down":
            bc.enable(S2)  # a session shut by its limit stays down until an operator enables it
    wait_for("AS10002 back", lambda: BirdControl(ctl).connect().protocol(S2).established,
             timeout=60)


def test_control_client_on_live_bird(rs_lab):
    _lab, _pipe, ctx, ctl, _pid = rs_lab
    with BirdControl(ctl) as bc:
        st = bc.status()
        assert st.up and st.router_id == str(LAN4[1]) and st.version.startswith("2.")
        assert bc.greeting.startswith("BIRD 2.")
        assert bc.configure_check().code == 20
        with pytest.raises(BirdError) as err:
            bc.configure_check(ctx.state_dir / "missing.conf")
        assert err.value.code >= 8000 and "missing.conf" in err.value.text
        with pytest.raises(BirdError):
            bc.protocol("nosuch")
        routes = bc.session_routes(S1)
        assert sorted(r.prefix for r in routes) == ["31.1.1.0/24", "31.1.2.0/24"]
        assert routes[0].as_path == (10001,) and routes[0].next_hop == str(LAN4[10])
        assert bc.disable(S2).code == 0
        wait_for("the disabled session to go down", lambda: bc.protocol(S2).state == "down",
                 timeout=30)
        assert bc.enable(S2).code == 0
        assert bc.restart(S1).code == 0
    wait_for("sessions back after disable/enable/restart", lambda: all(
        BirdControl(ctl).connect().protocol(s).established for s in (S1, S2)), timeout=60)
    with pytest.raises(BirdUnavailable):
        BirdControl(ctx.run_dir / "nosuch.ctl").connect()


def _proto(name: str, up: bool) -> Protocol:
    return Protocol(name, "BGP", "---", "up" if up else "start", "x",
                    "Established" if up else "Active")


def test_gate_tells_expected_restarts_from_drops():
    old = ("protocol bgp a {\n  neighbor 1.1.1.1 as 1;\n}\n"
           "protocol bgp b {\n  neighbor 1.1.1.2 as 2;\n}\n")
    new = old.replace("as 2;", "as 3;") + "protocol bgp c {\n  neighbor 1.1.1.3 as 4;\n}\n"
    assert set(session_blocks(new)) == {"a", "b", "c"}
    assert stable_sessions(old, new) == {"a"}
    head = "router id 1.1.1.1;\ndefine RS_ASN = 65000;\n"
    assert stable_sessions(head + old, head + new) == {"a"}
    assert stable_sessions(head + old, head.replace("65000", "65001") + old) == set()
    assert stable_sessions(head + old, head.replace("1.1.1.1", "1.1.1.9") + old) == set()
    before = [_proto("a", True), _proto("b", True)]
    assert dropped(before, [_proto("a", False), _proto("b", False)], {"a"}) == ["a"]
    assert dropped(before, [_proto("a", True), _proto("b", False)], {"a"}) == []
    assert dropped(before, [_proto("b", True)], {"a"}) == ["a"]


def test_stop_only_signals_bird(tmp_path):
    # A PID file naming a process that is not BIRD must never be signalled.
    ctx = ApplyContext(Target(tmp_path, "unused"))
    ctx.run_dir.mkdir(parents=True)
    (ctx.run_dir / "bird.pid").write_text("1\n")
    assert stop(ctx.target) is False
    assert stop(Target(tmp_path / "none", "unused")) is False


def test_start_bird_refuses_the_host_namespace(tmp_path, monkeypatch):
    monkeypatch.delenv("IXP_ALLOW_HOST_NETWORK", raising=False)
    if IMAGE_MARKER.exists():
        pytest.skip("on the appliance image BIRD may run in the host namespace")
    with pytest.raises(TargetRefused):
        start_bird(Target(tmp_path))


def test_stop_ends_the_route_server_by_its_pid_file(rs_lab):
    # Last test of the module: it stops the shared route server.
    _lab, _pipe, ctx, ctl, pid = rs_lab
    assert stop(ctx) is True
    assert not Path(f"/proc/{pid}").exists()
    with pytest.raises(BirdUnavailable):
        BirdControl(ctl, timeout=2).connect()
