"""The anycast helper's rise/fall state machine, and against a real unbound in the lab."""

from __future__ import annotations

import threading
import time

import pytest

from appliance.anycast.health import HealthChecker, checkers_from_config, protocol_name
from appliance.pipeline.concern import ApplyContext
from appliance.platform import shipped
from appliance.platform.target import Target
from appliance.resolver.concern import stop_resolver
from appliance.resolver.probe import ProbeResult, dig_probe
from labkit.resolver import resolver_lab
from tests.dns.variants import example_data, fixture_options, load

OK = ProbeResult(True, "NOERROR", 1.0)
BAD = ProbeResult(False, "timeout", 2000.0)


class Script:
    """A probe that answers from a list (the state machine's own logic, no system involved)."""

    def __init__(self, results: list[ProbeResult]) -> None:
        self.results = list(results)

    def __call__(self) -> ProbeResult:
        return self.results.pop(0)


def _run(results: list[ProbeResult], rise: int = 2, fall: int = 2, fail_calls: int = 0):
    calls: list[str] = []
    failing = [fail_calls]

    def on_change(action, prefixes):
        if failing[0] > 0:
            failing[0] -= 1
            raise RuntimeError("birdc unreachable")
        calls.append(action)

    hc = HealthChecker("svc", ["192.0.2.0/24"], Script(results), on_change, interval=1,
                       rise=rise, fall=fall)
    states = []
    for _ in results:
        hc.step()
        states.append(hc.state)
    return hc, states, calls


def test_rise_announces_after_rise_successes():
    hc, states, calls = _run([OK, OK, OK])
    assert states == ["unknown", "up", "up"]
    assert calls == ["announce"]
    assert hc.status()["announced"] is True


def test_fall_withdraws_after_fall_failures_and_a_single_failure_does_not():
    _, states, calls = _run([OK, OK, BAD, OK, BAD, BAD, BAD])
    assert states == ["unknown", "up", "up", "up", "up", "down", "down"]
    assert calls == ["announce", "withdraw"]


def test_down_at_start_withdraws_so_bird_is_never_left_announcing():
    _, states, calls = _run([BAD, BAD, OK, OK], rise=2, fall=2)
    assert states == ["unknown", "down", "down", "up"]
    assert calls == ["withdraw", "announce"]


def test_rise_and_fall_counts_are_respected():
    _, states, calls = _run([OK, OK, OK, BAD, BAD, BAD], rise=3, fall=3)
    assert states == ["unknown", "unknown", "up", "up", "up", "down"]
    assert calls == ["announce", "withdraw"]


def test_a_failed_callback_is_retried_and_shown():
    hc, _, calls = _run([OK, OK], fail_calls=1)
    assert calls == [] and hc.status()["callback_error"].startswith("announce failed")
    assert hc.status()["announced"] is False
    hc.probe = Script([OK])
    hc.step()
    assert calls == ["announce"] and hc.status()["callback_error"] is None


def test_resync_sends_the_decision_again():
    hc, _, calls = _run([OK, OK, OK])
    assert calls == ["announce"]
    hc.resync()  # e.g. BIRD was reconfigured and reset the static protocol
    hc.probe = Script([OK])
    hc.step()
    assert calls == ["announce", "announce"]


def test_protocol_names_are_bird_identifiers():
    assert protocol_name("192.0.2.0/24") == "anycast_192_0_2_0_24"
    assert protocol_name("2001:db8:53::/48") == "anycast_2001_db8_53___48"
    assert protocol_name("192.0.2.0/24") != protocol_name("192.0.2.0/25")


def test_status_and_metrics_are_plain_data():
    hc, _, _ = _run([OK, OK, BAD, BAD])
    st = hc.status()
    assert st["state"] == "down" and st["transitions_total"] == 2
    assert [(t["old"], t["new"]) for t in st["transitions"]] == [("unknown", "up"), ("up", "down")]
    assert st["last_result"] == {"ok": False, "detail": "timeout", "rtt_ms": 2000.0}
    assert hc.metrics()["up"] == 0.0 and hc.metrics()["failures_total"] == 2.0


def test_bad_settings_are_refused():
    with pytest.raises(ValueError):
        HealthChecker("x", [], Script([]), lambda a, p: None, rise=0)


def test_checkers_follow_the_config():
    data = example_data()
    data["services"]["anycast"] = [{"prefix": "192.0.2.0/24", "check": {
        "interval": 5, "timeout": 1, "rise": 3, "fall": 4}}]
    [hc] = checkers_from_config(load(data), lambda a, p: None)
    assert hc.prefixes == ("192.0.2.0/24",)
    assert (hc.interval, hc.rise, hc.fall) == (5, 3, 4)
    data["services"]["resolver"]["enabled"] = False
    assert checkers_from_config(load(data), lambda a, p: None) == []


def test_the_helpers_file_round_trips_and_bad_checks_are_refused(tmp_path):
    from appliance.anycast.health import checker_specs, load_checkers, render_checkers

    data = example_data()
    data["services"]["anycast"] = [{"prefix": "192.0.2.0/24", "check": {
        "interval": 5, "timeout": 1, "rise": 3, "fall": 4, "query_name": "example.net"}}]
    cfg = load(data)
    path = tmp_path / "checkers.json"
    path.write_bytes(render_checkers(cfg))
    assert render_checkers(cfg) == path.read_bytes()  # pure: same model, same bytes
    [spec] = load_checkers(path)
    assert spec == checker_specs(cfg)[0]
    assert (spec.prefix, spec.query_name, spec.interval, spec.rise, spec.fall) == (
        "192.0.2.0/24", "example.net", 5, 3, 4)
    assert spec.server in [str(a) for a in cfg.services.resolver.ipv4 + cfg.services.resolver.ipv6]
    path.write_text('{"version": 1, "checkers": [{"prefix": "192.0.2.0/24"}]}')
    with pytest.raises(ValueError, match="checkers"):
        load_checkers(path)
    path.write_text(path.read_bytes().decode().replace("1", "2", 1))
    with pytest.raises(ValueError, match="version"):
        load_checkers(path)


# -- with a real unbound in the lab --------------------------------------------------------


class Recorder:
    """Collects announce/withdraw calls with the time they came."""

    def __init__(self) -> None:
        self.events: list[tuple[str, float]] = []
        self.cond = threading.Condition()

    def __call__(self, action, prefixes) -> None:
        with self.cond:
            self.events.append((action, time.monotonic()))
            self.cond.notify_all()

    def wait_for(self, action: str, after: float, deadline: float) -> float | None:
        with self.cond:
            while True:
                for act, at in self.events:
                    if act == action and at >= after:
                        return at
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)


@pytest.mark.netns
def test_unbound_down_withdraws_and_up_announces(root_required, tool, tmp_path):
    tool("unbound", "unbound")
    tool("dig", "bind9-dnsutils")
    interval, rise, fall = 1, 2, 2
    # generous deadlines: the machine is shared; the order of events is what is checked
    slack = 15
    with resolver_lab(example_data(), tmp_path, fixture_options()) as lab:
        ns = lab.state.appliance_netns
        rec = Recorder()
        hc = HealthChecker("resolver", ["192.0.2.0/24"],
                           lambda: dig_probe("203.0.113.53", ".", timeout=1,
                                             target=Target(tmp_path, ns)), rec,
                           interval=interval, rise=rise, fall=fall)
        hc.start()
        try:
            t0 = time.monotonic()
            assert rec.wait_for("announce", t0, t0 + rise * interval + slack), hc.status()

            stopped = time.monotonic()
            assert stop_resolver(tmp_path)
            withdrawn = rec.wait_for("withdraw", stopped, stopped + fall * interval + slack)
            assert withdrawn is not None, hc.status()
            st = hc.status()
            assert st["state"] == "down" and st["announced"] is False
            assert st["last_result"]["ok"] is False

            started = time.monotonic()
            lab.concern.apply(lab.cfg, ApplyContext(Target(tmp_path, ns)), [])
            assert lab.concern.last_action == "start"
            again = rec.wait_for("announce", started, started + rise * interval + slack)
            assert again is not None, hc.status()
        finally:
            hc.stop()
        assert [e for e, _ in rec.events] == ["announce", "withdraw", "announce"]
        assert [(t["old"], t["new"]) for t in hc.status()["transitions"]] == [
            ("unknown", "up"), ("up", "down"), ("down", "up")]


@pytest.mark.netns
def test_probe_from_the_config_reaches_the_resolver(root_required, tool, tmp_path):
    tool("dig", "bind9-dnsutils")
    data = example_data()
    data["services"]["anycast"] = [{"prefix": "192.0.2.0/24", "check": {
        "interval": 2, "timeout": 1}}]
    with resolver_lab(data, tmp_path, fixture_options()) as lab:
        [hc] = checkers_from_config(lab.cfg, lambda a, p: None,
                                    Target(tmp_path, lab.state.appliance_netns))
        hc.step()
        assert hc.last_result is not None and hc.last_result.ok, hc.last_result
        assert hc.last_result.detail == "NOERROR"
        # an address where nothing answers is not healthy, and says why
        bad = dig_probe("203.0.113.99", ".", timeout=1,
                        target=Target(tmp_path, lab.state.appliance_netns))
        assert not bad.ok and bad.detail


@pytest.mark.netns
def test_anycast_service_follows_the_config(root_required, tool, tmp_path):
    tool("dig", "bind9-dnsutils")
    from appliance.anycast.health import CheckerSet, checker_specs

    data = example_data()
    data["services"]["anycast"] = [{"prefix": "192.0.2.0/24", "check": {
        "interval": 2, "timeout": 1, "rise": 1, "fall": 1}}]
    rec = Recorder()
    with resolver_lab(data, tmp_path, fixture_options()) as lab:
        svc = CheckerSet(rec, Target(tmp_path, lab.state.appliance_netns))
        try:
            svc.update(checker_specs(lab.cfg))
            [first] = svc.checkers()
            t0 = time.monotonic()
            assert rec.wait_for("announce", t0 - 5, t0 + 20), svc.statuses()
            svc.update(checker_specs(load(data)))  # same settings: the same checker keeps running
            assert svc.checkers() == [first]
            data["services"]["anycast"].append({"prefix": "2001:db8:5353::/48", "check": {
                "interval": 2, "timeout": 1}})
            svc.update(checker_specs(load(data)))
            assert len(svc.checkers()) == 2 and svc.checkers()[0] is first
            assert [s["prefixes"] for s in svc.statuses()] == [["192.0.2.0/24"],
                                                               ["2001:db8:5353::/48"]]
            data["services"]["anycast"] = []
            svc.update(checker_specs(load(data)))
            assert svc.checkers() == [] and first._thread is None
        finally:
            svc.stop()


# -- the BIRD side and the validation (pure) -----------------------------------------------


def test_gate_names_are_short_stable_and_distinct():
    from appliance.anycast.names import gate_ifname

    names = {gate_ifname(p) for p in ("192.0.2.0/24", "192.0.2.0/25", "2001:db8:53::/48")}
    assert len(names) == 3
    assert all(len(n) <= 15 and n.startswith("ixpg") for n in names)
    assert gate_ifname("192.0.2.0/24") == gate_ifname("192.0.2.0/24")


def _rendered(data: dict) -> str:
    from appliance.route_server.bogons import load_bogons
    from appliance.route_server.render import render_bird

    return render_bird(load(data), load_bogons())


def test_bird_originates_each_prefix_via_its_gate():
    from appliance.anycast.names import gate_ifname

    data = example_data()
    data["services"]["anycast"] = [{"prefix": "192.0.2.0/24"}, {"prefix": "2001:db8:5353::/48"}]
    text = _rendered(data)
    assert f'route 192.0.2.0/24 via "{gate_ifname("192.0.2.0/24")}";' in text
    assert f'route 2001:db8:5353::/48 via "{gate_ifname("2001:db8:5353::/48")}";' in text
    assert text.count("bgp_path.prepend(RS_ASN);") == 2
    assert "protocol static anycast_192_0_2_0_24" in text
    # the resolver switched off: nothing to announce
    data["services"]["resolver"]["enabled"] = False
    assert "anycast_" not in _rendered(data)


def test_bird_accepts_the_anycast_config(tool, tmp_path):
    import subprocess

    bird = tool("bird", "bird2")
    data = example_data()
    data["services"]["anycast"] = [{"prefix": "192.0.2.0/24"}, {"prefix": "2001:db8:5353::/48"}]
    data["members"][0]["root_instance"] = {"letter": "k", "prefixes": ["193.0.16.0/24"]}
    conf = tmp_path / "bird.conf"
    conf.write_text(_rendered(data))
    res = subprocess.run(shipped.wrap_named([bird, "-p", "-c", str(conf)]), capture_output=True,
                         text=True)
    assert res.returncode == 0, res.stderr
    text = conf.read_text()
    assert "if !(193.0.14.129 ~ net || net = 193.0.16.0/24) then rs_reject(15);" in text
    assert "if !(2001:7fd::1 ~ net) then rs_reject(15);" in text


def test_the_box_never_announces_a_root_prefix():
    from appliance.config.errors import ConfigError

    data = example_data()
    data["services"]["anycast"] = [{"prefix": "199.7.83.0/24"}]
    with pytest.raises(ConfigError) as err:
        load(data)
    assert "services.anycast[0].prefix" in str(err.value)
    assert "L root server" in str(err.value)
