"""The whole pipeline into the real lab (examples/small-island.yaml): the firewall is loaded in
the lab's appliance namespace beside everything else, BGP sessions still come up through it,
members reach the resolver, and the management plane stays unreachable from the LAN."""

from __future__ import annotations

import time
from pathlib import Path

import fwlab as fl
import pytest

from appliance.box import build_pipeline
from appliance.config.loader import load_config_text
from appliance.firewall import nft
from appliance.firewall.status import drops_by_reason
from appliance.lab.lab import lab_status
from appliance.platform import netns
from appliance.platform.target import Target
from appliance.route_server import daemon
from appliance.route_server.daemon import running_pid

# These calls only read or change the namespace: no state directory is involved.
NO_STATE = Path("/nonexistent")

pytestmark = [pytest.mark.netns, pytest.mark.slow]


@pytest.fixture
def lab(netlab, tmp_path, example_text):
    cfg = load_config_text(example_text)
    state = netlab.config_lab(cfg, tmp_path)
    out = build_pipeline(Target(tmp_path, state.appliance_netns)).run(example_text, author="t")
    assert out.ok, out.error
    return cfg, state, tmp_path


def _sessions_established(state_dir) -> bool:
    status = lab_status(state_dir)
    assert status is not None
    return all(m["sessions"] and set(m["sessions"].values()) == {"Established"}
               for m in status["members"])


def test_bgp_comes_up_through_the_firewall(lab, example_text):
    _cfg, state, state_dir = lab
    app = state.appliance_netns
    box = Target(state_dir, app)
    assert nft.table_loaded(box), "the default pipeline must load the management firewall"
    # the route server, as the apply started it (members connect to it and it to them)
    pid = running_pid(box)
    assert pid, "the apply should have started the route server"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not _sessions_established(state_dir):
            time.sleep(0.5)
        assert _sessions_established(state_dir), lab_status(state_dir)
        drops = drops_by_reason(box)
        assert drops["bgp_source"] == 0 and drops["invalid"] == 0, drops
        # re-applying the same configuration leaves the running table (and its counters)
        # alone, and the running BIRD too
        listing = nft.list_table(box)
        again = build_pipeline(box).run(example_text, author="t")
        assert again.ok and "nothing to change" in again.message, again.message
        assert nft.list_table(box) == listing and running_pid(box) == pid
    finally:
        daemon.stop_bird(pid)
    # a BIRD that is gone is the next apply's to start again (the lifecycle rule)
    plan = build_pipeline(box).run(example_text, author="t")
    assert plan.ok and [(c.concern, c.target) for c in plan.changes] == [
        ("route_server", "BIRD process")], plan.changes
    assert running_pid(box) not in (None, pid)


def test_from_a_member_the_management_plane_is_unreachable(lab, netlab):
    cfg, state, _ = lab
    app, member = state.appliance_netns, state.members[0].netns
    rs4, rs6 = str(cfg.route_server.ipv4), str(cfg.route_server.ipv6)
    # real listeners for SSH, web and SNMP in the appliance namespace (the lab runs none)
    with fl.listeners(netlab, app, tcp=fl.MGMT_TCP, udp=(fl.SNMP_PORT,)):
        # the appliance itself reaches them over loopback: they do listen
        local = fl.probe(app, [("tcp", rs4, 22, None), ("udp", rs4, fl.SNMP_PORT, None)])
        assert set(local.values()) == {"ok"}, local
        probes = [(proto, dst, port, None) for dst in (rs4, rs6)
                  for proto, port in [*(("tcp", p) for p in fl.MGMT_TCP),
                                      ("udp", fl.SNMP_PORT)]]
        res = fl.probe(member, probes)
    assert set(res.values()) == {"timeout"}, res
    assert drops_by_reason(Target(NO_STATE, app))["lan_mgmt"] >= len(probes)
    # the same counter is what Prometheus scrapes
    from appliance.monitor.metrics import render_metrics
    metrics = render_metrics(Target(lab[2], app)).decode()
    line = next(x for x in metrics.splitlines()
                if x.startswith('ixp_firewall_dropped_packets_total{reason="lan_mgmt"}'))
    assert float(line.split()[-1]) >= len(probes)
    # while ping and the resolver (unbound, started by the pipeline) still answer members
    ping = netns.run(member, ["ping", "-c", "1", "-W", "2", rs4], check=False)
    assert ping.returncode == 0, ping.stdout
    for server in (*cfg.services.resolver.ipv4, *cfg.services.resolver.ipv6):
        dig = netns.run(member, ["dig", f"@{server}", ".", "SOA", "+time=2", "+tries=1"],
                        check=False, timeout=20)
        assert "status:" in dig.stdout, f"no answer from {server}: {dig.stdout}"
