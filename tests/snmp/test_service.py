"""The agent under the lifecycle rule, in a lab: an apply with no runner around starts it (in
the host's namespace, on loopback, describing the lab's interfaces), a second apply leaves it
alone, the runner's supervision starts again one that was killed, and disabling SNMP stops it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from appliance.pipeline.core import CoreConcern
from appliance.pipeline.run import Pipeline
from appliance.platform.target import Target
from appliance.snmp import service
from appliance.snmp.concern import SnmpConcern
from appliance.snmp.paths import PID_FILE
from appliance.snmp.service import SnmpService
from labkit.netlab import wait_for
from tests.snmp.snmplab import COMMUNITY, lab_config, parse_lines

pytestmark = [pytest.mark.netns]
IF_NAME = "1.3.6.1.2.1.31.1.1.1.1"


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, its command line empty, does not)."""
    try:
        return bool(Path(f"/proc/{pid}/cmdline").read_bytes())
    except OSError:
        return False


def _walk(snmpwalk: str, port: int) -> subprocess.CompletedProcess[str]:
    """ifName from the host's loopback (no ip netns exec), where the lab's agent listens."""
    return subprocess.run([snmpwalk, "-v2c", "-c", COMMUNITY, "-On", "-t", "2", "-r", "2",
                           f"127.0.0.1:{port}", IF_NAME],
                          capture_output=True, text=True, timeout=30)


def test_the_apply_starts_the_agent_and_the_runner_only_supervises(netlab, tmp_path, tool):
    snmpwalk = tool("snmpwalk", "snmp")
    ns = netlab.namespace("ixp")
    netlab.add_host("m1", into=ns, port="ixp1")  # the lab's member port, in its namespace
    target = Target(tmp_path, ns)
    netlab.on_close(lambda: service.stop(target))
    # the port the dev runner would be given; never the default 1161 a demo may hold
    port = _free_udp_port()
    assert service.record_listen(target, f"127.0.0.1:{port}")
    concern = SnmpConcern()
    pipeline = Pipeline(target, concerns=[CoreConcern(), concern])
    cfg = lab_config()

    # What the review shows, then the apply: no runner anywhere.
    plan = pipeline.run(cfg, author="test", dry_run=True)
    assert plan.ok and [(c.action, c.target) for c in plan.changes
                        if c.concern == "snmp" and not c.path] == [
        ("add", "SNMP agent process")]
    out = pipeline.run(cfg, author="test")
    assert out.ok, out.error
    assert concern.last_action == "start"
    pid = service.running_pid(target)
    assert pid is not None
    # in the host's namespace (it listens beside the dev web UI), not the lab's
    assert os.readlink(f"/proc/{pid}/ns/net") == os.readlink("/proc/self/ns/net")
    r = _walk(snmpwalk, port)
    assert r.returncode == 0, r.stderr
    # Only the lab namespace's devices that the configuration names: never the host's.
    assert [v for _, v in parse_lines(r.stdout).values()] == ['"ixp1"']

    # Nothing changed: nothing to do, the same agent runs.
    again = pipeline.run(cfg, author="test")
    assert again.ok and again.message.startswith("nothing to change"), again.message
    assert service.running_pid(target) == pid

    # Killed outright: the dev runner's supervision starts it again, on its port.
    os.kill(pid, signal.SIGKILL)
    wait_for("the agent gone", lambda: service.running_pid(target) is None, 30)
    SnmpService(target, port=port).check()
    restarted = service.running_pid(target)
    assert restarted is not None and restarted != pid
    assert _walk(snmpwalk, port).returncode == 0

    # SNMP disabled: the apply stops the agent.
    off = cfg.model_copy(update={"snmp": cfg.snmp.model_copy(update={"enabled": False})})
    out = pipeline.run(off, author="test")
    assert out.ok, out.error
    assert concern.last_action == "stop"
    assert service.running_pid(target) is None
    assert not _alive(restarted), "the agent must be gone"
    assert not (tmp_path / "run" / PID_FILE).exists()
    # and the supervision does not start an agent the configuration does not ask for
    SnmpService(target, port=port).check()
    assert service.running_pid(target) is None
