"""``ixpctl run``, ``restore`` and ``services``: one service per process, as the image's units.

The route-server tests run BIRD in a namespace the test makes (a lab route-server namespace
with the peering bridge), exactly as ``ixp-bird.service`` runs it on the image but with
``--netns``; nothing touches the host's network.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from appliance.box import build_pipeline
from appliance.pipeline.run import Pipeline
from appliance.platform.bird.control import BirdControl, BirdUnavailable
from appliance.platform.target import IMAGE_MARKER, Target
from appliance.route_server.concern import RouteServerConcern
from appliance.route_server.render import session_name
from appliance.route_server.safe_apply import GateSettings
from appliance.route_server.service import configured_protocols
from labkit.netlab import open_lab, wait_for
from tests.bird.configs import LAN4, LAN6, config, member

IXPCTL = [sys.executable, "-m", "appliance.cli"]


def ixpctl(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ixpctl as the units do, in a subprocess."""
    return subprocess.run([*IXPCTL, *args], capture_output=True, text=True, timeout=timeout)


def services(state: Path, netns: str) -> dict:
    """``ixpctl services --json``."""
    done = ixpctl("services", "--json", "--state-dir", str(state), "--netns", netns)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def stop(proc: subprocess.Popen[bytes]) -> int:
    """SIGTERM, as systemd stops a unit; the exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def test_unnamed_protocols_get_birds_names() -> None:
    """Unnamed protocols are counted per type, as BIRD names them (device1, kernel2)."""
    text = ("protocol device {}\nprotocol kernel { ipv4; }\nprotocol kernel {\n}\n"
            "protocol bgp rs_as64501_1 from rs_member {\n}\ntemplate bgp rs_member {\n}\n")
    assert configured_protocols(text) == ["device1", "kernel1", "kernel2", "rs_as64501_1"]


@pytest.mark.netns
def test_run_bird_is_bird_on_the_installed_config(tmp_path: Path) -> None:
    """`ixpctl run bird` becomes BIRD (same PID: what systemd supervises) on the installed
    file; `services` proves it runs that file, and notices when the file changes under it."""
    assert not IMAGE_MARKER.exists(), "this host must not carry the image marker"
    lab = open_lab(tmp_path, base="ixr")
    proc = None
    try:
        rs = lab.make_rs(str(LAN4[1]), str(LAN6[1]), LAN4.prefixlen, LAN6.prefixlen)
        state = tmp_path / "state"
        cfg = config([member(1, 10001), member(2, 10002)])
        # config only (no namespace): the files are installed and no BIRD is started, as
        # on the image, where systemd then runs `ixpctl run bird`
        pipe = Pipeline(Target(state),
                        concerns=[RouteServerConcern(gate=GateSettings(settle=0.5))])
        assert pipe.run(cfg, author="test").ok
        ctl = state / "run" / "bird.ctl"
        ctl.parent.mkdir(parents=True, exist_ok=True)
        ctl.write_text("")  # a stale socket left by the last boot: must not confuse anything

        proc = subprocess.Popen([*IXPCTL, "run", "bird", "--state-dir", str(state),
                                 "--netns", rs.ns], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)

        def answers() -> bool:
            try:
                with BirdControl(ctl, timeout=2) as bc:
                    return bc.status().up
            except (BirdUnavailable, OSError):
                return False
        wait_for("BIRD answering on the state dir's socket", answers, timeout=30)
        comm = Path(f"/proc/{proc.pid}/comm").read_text().strip()
        assert comm == "bird", f"ixpctl must exec BIRD (systemd's main PID), found {comm}"
        assert int((state / "run" / "bird.pid").read_text()) == proc.pid

        report = services(state, rs.ns)
        rs_report = report["route_server"]
        assert rs_report["ok"], rs_report["problems"]
        assert rs_report["config_argument"] == str(state / "etc" / "bird" / "bird.conf")
        sessions = {session_name(10001, str(LAN4[10])), session_name(10002, str(LAN4[11]))}
        assert sessions <= set(rs_report["running"])
        # Two members with an IPv4 and an IPv6 address each: four sessions.
        assert rs_report["bgp_sessions"] == 4, rs_report
        assert report["revision"] == 1 and report["services"]["bird"] == "active"
        text = ixpctl("services", "--state-dir", str(state), "--netns", rs.ns).stdout
        assert re.search(r"Route server: BIRD 2\.\d+\.\d+ runs the installed configuration "
                         r"of revision 1", text), text

        # The installed file changes and BIRD is not told: the check must say so.
        time.sleep(1.1)  # BIRD's clock reading has whole seconds
        conf = state / "etc" / "bird" / "bird.conf"
        conf.write_text(conf.read_text().replace("protocol device {}",
                                                 "protocol device {}\nprotocol device {}"))
        stale = services(state, rs.ns)["route_server"]
        assert not stale["ok"]
        assert any("before the installed file" in p for p in stale["problems"])
        assert any("device2" in p for p in stale["problems"]), stale["problems"]

        assert stop(proc) == 0, "BIRD must end cleanly on SIGTERM (systemd's stop)"
    finally:
        if proc is not None:
            stop(proc)
        lab.close()


@pytest.mark.netns
def test_restore_reapplies_the_committed_revision(tmp_path: Path, example_text: str) -> None:
    """`ixpctl restore` (ixp-restore.service) re-applies the last revision; with none it is a
    no-op that succeeds, so a box before its wizard boots cleanly."""
    state = tmp_path / "state"
    empty = ixpctl("restore", "--state-dir", str(state))
    assert empty.returncode == 0 and "no configuration committed yet" in empty.stdout

    assert build_pipeline(state).run(example_text, author="test").ok  # config only: no network
    stale = state / "run" / "bird.ctl"
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_text("")
    done = ixpctl("restore", "--state-dir", str(state))
    assert done.returncode == 0, done.stderr
    assert "revision 1" in done.stdout
    assert not stale.exists(), "a control socket nobody answers on is left from the last boot"


def test_run_stayrtr_with_nothing_to_serve_ends_cleanly(tmp_path: Path,
                                                        example_text: str) -> None:
    """No VRPs (or no validator on the box): exit 0 with the reason, never a failed unit."""
    done = ixpctl("run", "stayrtr", "--state-dir", str(tmp_path))
    assert done.returncode == 0
    assert "no configuration applied yet" in done.stdout
    assert build_pipeline(tmp_path).run(example_text, author="test").ok
    done = ixpctl("run", "stayrtr", "--state-dir", str(tmp_path))
    assert done.returncode == 0 and "stayrtr not started" in done.stdout, done.stdout


def test_run_snmp_without_config_fails_with_the_reason(tmp_path: Path) -> None:
    """The unit's ConditionPathExists keeps it from starting early; by hand it says why."""
    done = ixpctl("run", "snmp", "--state-dir", str(tmp_path))
    assert done.returncode == 1 and "not rendered yet" in done.stderr


def test_run_rejects_listen_for_other_services(tmp_path: Path) -> None:
    """--listen is for web and snmp only."""
    done = ixpctl("run", "collector", "--listen", "127.0.0.1:1", "--state-dir", str(tmp_path))
    assert done.returncode == 1 and "--listen is for web and snmp" in done.stderr


def test_run_web_serves_until_sigterm(tmp_path: Path) -> None:
    """`ixpctl run web` (ixp-web.service) serves the UI and ends cleanly on SIGTERM."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([*IXPCTL, "run", "web", "--state-dir", str(tmp_path),
                             "--listen", f"127.0.0.1:{port}"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        import requests

        def serves() -> bool:
            try:
                return requests.get(f"http://127.0.0.1:{port}/setup", timeout=5).ok
            except requests.RequestException:
                return False
        wait_for("the web UI answering", serves, timeout=60)
    finally:
        code = stop(proc)
    assert code == 0, proc.stderr.read() if proc.stderr else ""


def test_run_collector_samples_until_sigterm(tmp_path: Path) -> None:
    """`ixpctl run collector` keeps sampling until SIGTERM, then ends cleanly."""
    proc = subprocess.Popen([*IXPCTL, "run", "collector", "--state-dir", str(tmp_path),
                             "--interval", "0.2"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "collector running"
        time.sleep(1)
        assert proc.poll() is None, "the collector ended by itself"
    finally:
        code = stop(proc)
    assert code == 0


def test_run_anycast_uses_the_helper(tmp_path: Path) -> None:
    """`ixpctl run anycast` runs the helper's service until SIGTERM (nothing to check yet)."""
    proc = subprocess.Popen([*IXPCTL, "run", "anycast", "--state-dir", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line == "anycast running", (line, proc.stderr.read() if proc.poll() else "")
    finally:
        code = stop(proc)
    assert code == 0
