"""In the lab with traffic flowing: counters, graph data, the dashboard and /metrics rise."""

from __future__ import annotations

import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from appliance.monitor.collector import Collector
from appliance.monitor.counters import read_counters
from appliance.monitor.store import TOTAL, SampleStore, samples_path
from appliance.platform import netns
from appliance.platform.target import Target
from appliance.web import create_app
from appliance.web.api import tokens

from ..web.conftest import csrf

pytestmark = pytest.mark.netns


def metric(text: str, name: str, labels: dict[str, str]) -> float:
    for fam in text_string_to_metric_families(text):
        for sample in fam.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    raise AssertionError(f"{name}{labels} not in the metrics")


def test_traffic_shows_everywhere(lab):
    cfg, state, state_dir = lab
    store = SampleStore(samples_path(state_dir))
    ports = {m.ports[0].interface for m in cfg.members}
    collector = Collector(store, Target(state_dir, state.appliance_netns), lambda: ports,
                          interval=60)
    now = int(time.time())
    collector.sample_once(now=now - 60)
    app = create_app(Target(state_dir, state.appliance_netns))
    client = app.test_client()
    # /metrics needs a token (or a login) while the looking glass is private
    auth = {"Authorization": "Bearer " + tokens.create(state_dir, "prometheus", "alice")}
    before = client.get("/metrics", headers=auth).get_data(as_text=True)
    rx_before = metric(before, "ixp_port_receive_bytes_total", {"port": "ixp1"})

    # member 1 sends 200 pings of 1000 bytes to member 2 across the bridge
    target = str(cfg.members[1].ipv4[0])
    res = netns.run(state.members[0].netns, ["ping", "-q", "-c", "200", "-i", "0.002", "-s",
                                             "1000", target], check=False, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    kernel = {c.name: c for c in read_counters(Target(state_dir, state.appliance_netns), ports)}
    collector.sample_once(now=now)

    # the store's rate matches what the kernel counted
    rate = store.rates("ixp1", now - 3600)[-1]
    first = kernel["ixp1"].rx_bytes
    assert rate.rx_bps > 200 * 1000 * 8 / 60 * 0.9
    assert store.rates(TOTAL, now - 3600)[-1].rx_bps >= rate.rx_bps

    # metrics rose by at least the ping payload, and equal the kernel's counter at scrape time
    after = client.get("/metrics", headers=auth).get_data(as_text=True)
    rx_after = metric(after, "ixp_port_receive_bytes_total", {"port": "ixp1",
                                                               "member": "AS64496"})
    assert rx_after - rx_before >= 200 * 1000 and rx_after >= first
    assert metric(after, "ixp_port_up", {"port": "ixp2"}) == 1
    assert metric(after, "ixp_config_revision", {}) == 1
    assert metric(after, "ixp_members", {}) == 5

    # the dashboard shows the ports and the graph page draws them
    login = client.get("/login")
    client.post("/login", data={"name": "alice", "password": "monitor pass phrase",
                                "csrf_token": csrf(login.data)})
    page = client.get("/").get_data(as_text=True)
    assert "<code>ixp1</code>" in page and "Hygiene drops" in page and '"ok">up' in page
    graphs = client.get("/graphs?range=2d").get_data(as_text=True)
    assert "All member ports" in graphs and "Port ixp1" in graphs and "<polygon" in graphs
