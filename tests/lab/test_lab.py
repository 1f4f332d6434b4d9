"""The namespace lab: made from the config, member BIRDs running, and removed completely."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
import yaml

from appliance.box import build_pipeline
from appliance.config.loader import load_config_text
from appliance.lab.lab import LabError, LabState, lab_down, lab_status, lab_up
from appliance.lab.member_router import member_prefixes, render_member_bird
from appliance.platform import netns
from appliance.platform.target import Target

pytestmark = pytest.mark.netns


def _bird_pids() -> set[int]:
    out = subprocess.run(["pgrep", "-x", "bird"], capture_output=True, text=True).stdout
    return {int(p) for p in out.split()}


def test_member_prefixes_are_public_and_stable():
    import ipaddress
    v4, v6 = member_prefixes(7, 20)
    assert (v4, v6) == member_prefixes(7, 20)
    assert all(ipaddress.ip_network(p).is_global for p in v4 + v6)
    assert len(set(v4)) == 20 and len(set(v6)) == 20
    with pytest.raises(ValueError):
        member_prefixes(0, 10_000)


def test_member_bird_config_parses(example_text, tmp_path, tool):
    bird = tool("bird", "bird2")
    cfg = load_config_text(example_text)
    for i in range(len(cfg.members)):
        conf = tmp_path / f"m{i}.conf"
        conf.write_text(render_member_bird(cfg, i, 3))
        res = subprocess.run([bird, "-p", "-c", str(conf)], capture_output=True, text=True)
        assert res.returncode == 0, res.stderr


@pytest.fixture
def lab(root_required, tmp_path, example_text):
    cfg = load_config_text(example_text)
    prefix = netns.unique_prefix("ixt")
    state = lab_up(cfg, tmp_path, prefixes_per_member=3, prefix=prefix)
    try:  # torn down even when applying fails before the test starts
        out = build_pipeline(Target(tmp_path, state.appliance_netns)).run(example_text, author="t")
        assert out.ok, out.error
        yield cfg, state, tmp_path
    finally:
        lab_down(tmp_path)
        for name in netns.list_with_prefix(prefix):
            netns.remove(name)
    ours = {m.pid for m in state.members}
    assert not ours & _bird_pids(), "lab down must stop every member router"


def test_lab_up_builds_what_the_config_says(lab):
    cfg, state, state_dir = lab
    assert netns.exists(state.appliance_netns)
    ports = netns.run(state.appliance_netns, ["ip", "-j", "link", "show"]).stdout
    names = {link["ifname"] for link in json.loads(ports)}
    assert {m.ports[0].interface for m in cfg.members} <= names
    for member, lm in zip(cfg.members, state.members, strict=True):
        link = json.loads(netns.run(lm.netns, ["ip", "-j", "addr", "show", "eth0"]).stdout)[0]
        assert link["address"] == member.macs[0]
        addrs = {a["local"] for a in link["addr_info"]}
        assert {str(a) for a in member.ipv4 + member.ipv6} <= addrs
        assert lm.pid in _bird_pids()
    status = lab_status(state_dir)
    assert all(m["router_running"] for m in status["members"])
    # every member router answers on its own control socket and has its two sessions
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        status = lab_status(state_dir)
        if all(set(m["sessions"]) == {"rs4", "rs6"} for m in status["members"]):
            break
        time.sleep(0.2)
    assert all(set(m["sessions"]) == {"rs4", "rs6"} for m in status["members"]), status


def test_members_reach_each_other_over_the_peering_lan(lab):
    cfg, state, _ = lab
    first = state.members[0]
    for target in (cfg.members[1].ipv4[0], cfg.members[1].ipv6[0], cfg.route_server.ipv4,
                   cfg.route_server.ipv6):
        res = netns.run(first.netns, ["ping", "-c", "1", "-W", "2", str(target)], check=False)
        assert res.returncode == 0, f"{first.netns} cannot reach {target}: {res.stdout}"


def test_member_router_announces_its_prefixes(lab):
    _cfg, state, _ = lab
    lm = state.members[0]
    out = subprocess.run(["birdc", "-s", lm.socket, "show", "route", "protocol", "announced4"],
                         capture_output=True, text=True, timeout=10).stdout
    for prefix in member_prefixes(0, 3)[0]:
        assert prefix in out


def test_lab_refuses_a_second_lab_in_the_same_state_dir(lab, example_text):
    _, _, state_dir = lab
    with pytest.raises(LabError, match="already recorded"):
        lab_up(load_config_text(example_text), state_dir)


def test_lab_down_removes_everything(root_required, tmp_path, example_text):
    prefix = netns.unique_prefix("ixt")
    state = lab_up(load_config_text(example_text), tmp_path, prefixes_per_member=1,
                   prefix=prefix)
    assert len(netns.list_with_prefix(prefix)) == 6
    removed = lab_down(tmp_path)
    assert sorted(removed) == sorted([state.appliance_netns] + [m.netns for m in state.members])
    assert netns.list_with_prefix(prefix) == []
    assert not {m.pid for m in state.members} & _bird_pids()
    assert LabState.load(tmp_path) is None
    assert lab_down(tmp_path) == []  # idempotent


def _alive(pid: int) -> bool:
    try:
        return bool(open(f"/proc/{pid}/cmdline", "rb").read())  # a zombie's is empty
    except OSError:
        return False


def test_lab_down_stops_the_helper_and_the_agent_the_apply_started(root_required, tmp_path,
                                                                    tool):
    from appliance.anycast import service as anycast
    from appliance.resolver.daemon import running_pid as unbound_pid
    from appliance.resolver.paths import UnboundPaths
    from appliance.route_server.daemon import running_pid as bird_pid
    from appliance.snmp import service as snmp
    from labkit.anycast import anycast_data

    tool("unbound", "unbound")
    data = anycast_data()  # the example with an anycast prefix for the resolver
    data["snmp"] = {"enabled": True, "communities": [
        {"community": "lab-ro-community", "allowed_networks": ["127.0.0.0/8"]}]}
    cfg = load_config_text(yaml.safe_dump(data))
    prefix = netns.unique_prefix("ixt")
    state = lab_up(cfg, tmp_path, prefixes_per_member=1, prefix=prefix)
    target = Target(tmp_path, state.appliance_netns)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            snmp.record_listen(target, f"127.0.0.1:{s.getsockname()[1]}")
        # what `ixpctl lab up` applies: the whole box, no runner
        out = build_pipeline(target).run(yaml.safe_dump(data), author="test")
        assert out.ok, out.error
        started = {"anycast helper": anycast.running_pid(target),
                   "SNMP agent": snmp.running_pid(target), "BIRD": bird_pid(target),
                   "unbound": unbound_pid(UnboundPaths(tmp_path))}
        assert all(started.values()), started
    finally:
        lab_down(tmp_path)
    assert netns.list_with_prefix(prefix) == []
    left = [name for name, pid in started.items() if _alive(pid)]
    assert not left, f"lab down left these running: {left}"


def test_failed_lab_up_cleans_up(root_required, tmp_path, example_text):
    data = yaml.safe_load(example_text)
    prefix = netns.unique_prefix("ixt")
    netns.create(f"{prefix}-m3")  # a namespace in the way makes lab up fail half-way
    try:
        with pytest.raises(Exception):  # noqa: B017 (any failure will do)
            lab_up(load_config_text(yaml.safe_dump(data)), tmp_path, prefix=prefix)
        left = netns.list_with_prefix(prefix)
        assert left == [], f"lab up must remove what it made, left {left}"
        assert LabState.load(tmp_path) is None
    finally:
        for name in netns.list_with_prefix(prefix):
            netns.remove(name)


def _wait_for(pattern: str, proc: subprocess.Popen, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    seen = ""
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        seen += line
        if pattern in line:
            return line
        if proc.poll() is not None:
            break
    raise AssertionError(f"never saw {pattern!r}; output was:\n{seen}")


def test_demo_runs_and_ctrl_c_tears_down(root_required, tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "appliance.cli", "demo", "--state-dir", str(tmp_path),
         "--listen", "127.0.0.1:0", "--prefixes", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = _wait_for("Open http://", proc, 60)
        url = line.split("Open ")[1].split()[0]
        code_line = _wait_for("setup code for the wizard:", proc, 10)
        code = code_line.split(":")[-1].strip()
        assert len(code) == 14, code_line
        # a fresh box leads to the setup page, which asks for that code
        page = urllib.request.urlopen(url, timeout=10)
        assert page.url.endswith("/setup") and "setup code" in page.read().decode()
        health = json.loads(urllib.request.urlopen(url + "healthz", timeout=10).read())
        assert health["ok"] is True
        lab = lab_status(tmp_path)
        assert len(lab["members"]) == 5 and all(m["router_running"] for m in lab["members"])
        routers = {m["router_pid"] for m in lab["members"]}
        assert len(netns.list_with_prefix(lab["prefix"] + "-")) == 6
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            lab_down(tmp_path)
    assert proc.returncode == 0
    assert netns.list_with_prefix(lab["prefix"] + "-") == [], "the demo must remove its lab"
    assert not routers & _bird_pids(), "the demo must stop its member routers"


def test_a_namespace_that_cannot_be_finished_is_not_left_behind(monkeypatch):
    # created, then its loopback cannot be brought up (here: a broken shipped tree): create()
    # removes it, since temporary() only removes what it was handed back
    from appliance.platform import shipped

    netns.require_root()
    name = netns.unique_prefix("ixtst") + "-half"
    monkeypatch.setenv(shipped.ENV, "/nonexistent-shipped-tree")
    with pytest.raises(shipped.ShippedRootError):
        netns.create(name)
    monkeypatch.delenv(shipped.ENV)
    try:
        assert not netns.exists(name)
    finally:
        netns.remove(name)
