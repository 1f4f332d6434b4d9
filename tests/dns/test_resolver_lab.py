"""The resolver in the namespace lab: members resolve through the service address, strangers
are refused, re-applying changes nothing, a change reloads without a restart."""

from __future__ import annotations

import copy
import os
import shutil
import signal
import time

import pytest

from appliance.config.loader import load_config_text
from appliance.pipeline.concern import ApplyContext
from appliance.platform import netns
from appliance.platform.target import Target
from labkit.resolver import dig, in_root_netns, resolver_lab, status_of, unbound_pids
from tests.dns.variants import FIXTURE_ADDR, FIXTURE_NAME, example_data, fixture_options

pytestmark = pytest.mark.netns

STRANGER = "198.51.100.7"  # outside the peering LAN and every allowed network


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.fail("this test creates network namespaces and must run as root")
    for prog, package in (("unbound", "unbound"), ("dig", "bind9-dnsutils")):
        if not shutil.which(prog, path="/usr/sbin:/usr/bin:/sbin:/bin"):
            pytest.fail(f"{prog} is missing: install the Debian package {package}")
    state_dir = tmp_path_factory.mktemp("resolver-lab")
    with resolver_lab(example_data(), state_dir, fixture_options()) as lab:
        yield lab


def test_unbound_runs_in_the_appliance_namespace_only(lab):
    pid = lab.pid()
    assert pid is not None
    assert not in_root_netns(pid)
    assert lab.concern.last_action in ("start", "")
    assert lab.paths.control_socket.exists()


@pytest.mark.parametrize("server", ["203.0.113.53", "2001:db8:eeee::53"])
def test_member_resolves_through_the_service_address(lab, server):
    member = lab.state.members[0].netns
    res = dig(member, server, FIXTURE_NAME, "A")
    assert status_of(res.stdout) == "NOERROR", res.stdout
    short = dig(member, server, FIXTURE_NAME, "A", "+short")
    assert short.stdout.split() == [FIXTURE_ADDR], short.stdout
    # a name the fixture root does not have is a clean NXDOMAIN from the local root
    missing = dig(member, server, "nothing-here.example.", "A")
    assert status_of(missing.stdout) == "NXDOMAIN", missing.stdout


def test_every_member_can_ask(lab):
    for lm in lab.state.members:
        res = dig(lm.netns, "203.0.113.53", FIXTURE_NAME, "+short")
        assert res.stdout.split() == [FIXTURE_ADDR], (lm.netns, res.stdout)


def _add_stranger(lab) -> str:
    """Give member 1 an address outside every allowed network, routed back by the box."""
    member = lab.state.members[0]
    have = netns.run(member.netns, ["ip", "-4", "addr", "show", "dev", "eth0"]).stdout
    if STRANGER not in have:
        netns.run(member.netns, ["ip", "addr", "add", f"{STRANGER}/32", "dev", "eth0"])
        via = str(lab.cfg.members[0].ipv4[0])
        netns.run(lab.state.appliance_netns, ["ip", "route", "add", f"{STRANGER}/32", "via",
                                              via])
    return member.netns


def test_a_source_outside_the_allowed_networks_is_refused(lab):
    ns = _add_stranger(lab)
    res = dig(ns, "203.0.113.53", FIXTURE_NAME, "-b", STRANGER)
    assert status_of(res.stdout) == "REFUSED", res.stdout
    # the same member from its LAN address is answered: the refusal is about the source
    ok = dig(ns, "203.0.113.53", FIXTURE_NAME, "+short")
    assert ok.stdout.split() == [FIXTURE_ADDR]


def test_reapplying_the_same_config_changes_nothing(lab):
    pid = lab.pid()
    out = lab.apply(lab.data)
    assert out.ok, out.error
    assert not [c for c in out.changes if c.concern == "resolver"], out.changes
    assert lab.pid() == pid
    # the concern on its own, as the runner calls it at start: nothing to do, nothing done
    ctx = ApplyContext(Target(lab.state_dir, lab.state.appliance_netns))
    assert lab.concern.plan(lab.cfg, ctx) == []
    lab.concern.apply(lab.cfg, ctx, [])
    assert lab.concern.last_action == ""
    assert lab.pid() == pid


def test_allowing_a_network_reloads_without_restart(lab):
    ns = _add_stranger(lab)
    pid = lab.pid()
    data = copy.deepcopy(lab.data)
    data["services"]["resolver"]["allowed_networks"] = ["198.51.100.0/24"]
    out = lab.apply(data)
    assert out.ok, out.error
    assert lab.concern.last_action == "reload"
    assert lab.pid() == pid, "a configuration change must not restart unbound"
    res = dig(ns, "203.0.113.53", FIXTURE_NAME, "-b", STRANGER, "+short")
    assert res.stdout.split() == [FIXTURE_ADDR], res.stdout
    # and back: refused again after the next change
    out = lab.apply(lab.data)
    assert out.ok and lab.concern.last_action == "reload"
    res = dig(ns, "203.0.113.53", FIXTURE_NAME, "-b", STRANGER)
    assert status_of(res.stdout) == "REFUSED", res.stdout


def test_a_new_service_address_restarts_unbound_on_it(lab):
    # a reload keeps unbound's sockets, so a new address needs a restart
    member = lab.state.members[2].netns
    data = copy.deepcopy(lab.data)
    data["services"]["resolver"]["ipv4"] = ["203.0.113.54"]
    old = lab.pid()
    out = lab.apply(data)
    assert out.ok, out.error
    assert lab.concern.last_action == "restart" and lab.pid() not in (None, old)
    res = dig(member, "203.0.113.54", FIXTURE_NAME, "+short")
    assert res.stdout.split() == [FIXTURE_ADDR], res.stdout
    out = lab.apply(lab.data)
    assert out.ok and lab.concern.last_action == "restart"
    res = dig(member, "203.0.113.53", FIXTURE_NAME, "+short")
    assert res.stdout.split() == [FIXTURE_ADDR], res.stdout


def test_a_dead_unbound_is_started_again_by_the_next_apply(lab):
    ctx = ApplyContext(Target(lab.state_dir, lab.state.appliance_netns))
    old = lab.pid()
    os.kill(old, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while lab.pid() is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert lab.pid() is None
    assert [c.target for c in lab.concern.plan(lab.cfg, ctx)] == ["unbound process"]
    out = lab.apply(lab.data)  # same config: re-applied because the process is missing
    assert out.ok, out.error
    assert lab.concern.last_action == "start"
    assert lab.pid() not in (None, old)
    res = dig(lab.state.members[1].netns, "203.0.113.53", FIXTURE_NAME, "+short")
    assert res.stdout.split() == [FIXTURE_ADDR]


def test_disabling_the_resolver_stops_unbound(lab):
    data = copy.deepcopy(lab.data)
    data["services"]["resolver"]["enabled"] = False
    pid = lab.pid()
    out = lab.apply(data)
    assert out.ok, out.error
    assert lab.concern.last_action == "stop"
    assert lab.pid() is None
    assert pid not in unbound_pids()
    assert not lab.paths.conf.exists(), "the pipeline removes the file it no longer renders"
    out = lab.apply(lab.data)
    assert out.ok and lab.concern.last_action == "start"


def test_without_a_lab_nothing_runs(tmp_path, example_text):
    # a developer machine with no namespace: config only, no unbound started
    from appliance.resolver.concern import ResolverConcern

    concern = ResolverConcern(fixture_options())
    ctx = ApplyContext(Target(tmp_path))
    if ctx.has_system:
        pytest.skip("this machine is the appliance image (or allows the host network)")
    cfg = load_config_text(example_text)
    assert concern.plan(cfg, ctx) == []
    concern.apply(cfg, ctx, ["unbound/unbound.conf"])
    assert concern.last_action == ""
    assert not (tmp_path / "run").exists()
