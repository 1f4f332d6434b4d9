"""The runner's way: agent in this namespace on loopback, interfaces read from the lab's."""

from __future__ import annotations

import socket
import subprocess

import pytest

from appliance.platform.target import Target
from appliance.snmp.paths import PID_FILE
from appliance.snmp.render import AGENT_FILE, render_agent_config
from appliance.snmp.service import SnmpService
from tests.snmp.snmplab import COMMUNITY, lab_config, ns_run, parse_lines

pytestmark = [pytest.mark.netns]


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_service_serves_interfaces_of_the_lab_namespace(ns_factory, tmp_path, tool):
    snmpwalk = tool("snmpwalk", "snmp")
    ns = ns_factory("svc")
    ns_run(ns, "ip", "link", "add", "ixp1", "type", "veth", "peer", "name", "ixp1-far")
    ns_run(ns, "ip", "link", "set", "ixp1", "up")
    (tmp_path / "etc" / "snmp").mkdir(parents=True)
    (tmp_path / "etc" / AGENT_FILE).write_bytes(render_agent_config(lab_config()))
    port = _free_udp_port()
    svc = SnmpService(Target(tmp_path, ns), host="127.0.0.1", port=port)
    svc.start()
    try:
        assert svc.wait_ready(20), "the agent did not start"
        r = subprocess.run([snmpwalk, "-v2c", "-c", COMMUNITY, "-On", "-t", "2", "-r", "2",
                            f"127.0.0.1:{port}", "1.3.6.1.2.1.31.1.1.1.1"],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        names = [v for _, v in parse_lines(r.stdout).values()]
        # Only the lab namespace's devices that the configuration names: never the host's.
        assert names == ['"ixp1"']
    finally:
        svc.stop()
    assert svc.proc is None
    assert not (tmp_path / "run" / PID_FILE).exists()
