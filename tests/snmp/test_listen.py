"""The agent listens on the management address (or NIC) only, as rendered from the model."""

from __future__ import annotations

import ipaddress
import subprocess
import sys
import time

import pytest

from appliance.snmp.render import AGENT_FILE, render_agent_config
from labkit.netlab import veth
from tests.snmp.snmplab import ROOT, lab_config, ns_run

pytestmark = [pytest.mark.netns]
PORT = 16161


def _get(ns: str, host: str, community: str) -> subprocess.CompletedProcess[str]:
    return ns_run(ns, "snmpget", "-v2c", "-c", community, "-On", "-t", "0.5", "-r", "0",
                  f"{host}:{PORT}", "1.3.6.1.2.1.1.5.0", check=False)


@pytest.mark.parametrize("mgmt_ipv4", ["dhcp", "192.0.2.1/24"])
def test_listens_on_management_only(netlab, tmp_path, tool, mgmt_ipv4):
    tool("snmpget", "snmp")
    box = netlab.namespace("box")
    nms = netlab.add_host("nms", into=box, port="mgmt0", addrs=["192.0.2.2/24"]).ns
    veth(box, "ixp1", "ixp1-far")
    ns_run(box, "ip", "link", "set", "mgmt0", "up")
    ns_run(box, "ip", "addr", "add", "192.0.2.1/24", "dev", "mgmt0")
    ns_run(box, "ip", "addr", "add", "203.0.113.1/24", "dev", "ixp1")  # a peering-LAN address
    community = "everywhere-community"
    cfg = lab_config([{"community": community,
                       "allowed_networks": ["0.0.0.0/0"]}])
    ipv4 = mgmt_ipv4 if mgmt_ipv4 == "dhcp" else ipaddress.IPv4Interface(mgmt_ipv4)
    cfg = cfg.model_copy(update={"management": cfg.management.model_copy(
        update={"ipv4": ipv4})})
    (tmp_path / "etc" / "snmp").mkdir(parents=True)
    (tmp_path / "etc" / AGENT_FILE).write_bytes(render_agent_config(cfg))
    with (tmp_path / "agent.log").open("wb") as log:
        # ended, by its PID, when the test's lab closes
        proc = netlab.spawn(box, [
            sys.executable, "-m", "appliance.snmp",
            "--config", str(tmp_path / "etc" / AGENT_FILE),
            "--state-dir", str(tmp_path)], stdout=log, stderr=log, cwd=ROOT)
    deadline = time.monotonic() + 20
    ok = None
    while time.monotonic() < deadline and proc.poll() is None:
        ok = _get(nms, "192.0.2.1", community)
        if ok.returncode == 0:
            break
    assert ok is not None and ok.returncode == 0, (tmp_path / "agent.log").read_text()
    # Not on loopback, not on the peering LAN: only the management NIC answers.
    assert _get(box, "127.0.0.1", community).returncode != 0
    assert _get(box, "203.0.113.1", community).returncode != 0
