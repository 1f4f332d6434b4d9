"""Alerts on real causes in the namespace lab, delivered to real receivers: a member's BIRD
stopped (session down, then resolved when it is back: a signed webhook and BGP4-MIB traps in
snmptrapd), a member port's link down and up (IF-MIB linkDown/linkUp), bad frames sent with a
spoofed source MAC (hygiene drops naming member, port and reason), IRR data that does not
register a member's routes and is a month old (filtered routes, stale data; both resolve when
it is gone), and a member over its max-prefix limit."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable

import pytest
import yaml
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from appliance.alerts.engine import AlertEngine, ifindex_reader
from appliance.box import build_pipeline
from appliance.config.loader import load_config_text
from appliance.lab.lab import LabState, lab_dir
from appliance.platform import netns
from appliance.platform.target import Target
from appliance.route_server.daemon import running_pid
from appliance.route_server.status import route_server_sessions
from appliance.snmp.ifindex import IfIndexMap
from labkit.frames import Sender
from labkit.netlab import applied_lab

from .receivers import HttpSink, TrapDaemon

pytestmark = pytest.mark.netns

SECRET = "lab-webhook-secret-0123"
SPOOF = "02:66:66:66:66:66"


def _wait(what: str, probe: Callable[[], object], timeout: float = 90,
          every: float = 0.5) -> object:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(every)
    pytest.fail(f"timed out waiting for {what} (last: {last!r})")


@pytest.fixture
def alert_lab(root_required, tmp_path, example_text):
    """The example exchange in a lab with alerts to a webhook sink and snmptrapd, the route
    server running, every session up."""
    with HttpSink() as sink, TrapDaemon(tmp_path) as trapd:
        data = yaml.safe_load(example_text)
        data["alerts"] = {
            "quiet_minutes": 0,
            "rules": {"session_down": {"minutes": 0}, "port_down": {"minutes": 0},
                      "hygiene_drops": {"per_minute": 5}, "filtered_routes": {"minutes": 0}},
            "webhooks": [{"url": sink.url, "hmac_secret": SECRET}],
            "snmp_managers": [{"host": "127.0.0.1", "port": trapd.port,
                               "community": trapd.community}]}
        data["members"][1]["max_prefix"] = {"ipv4": 1, "ipv6": 5}
        text = yaml.safe_dump(data)
        cfg = load_config_text(text)
        with applied_lab(tmp_path, text, "ixa") as state:
            assert running_pid(Target(tmp_path, state.appliance_netns))
            _wait("every session Established", lambda: (
                s := route_server_sessions(tmp_path, cfg)["sessions"]) and all(
                    x["up"] for x in s), timeout=120)
            yield cfg, state, tmp_path, sink, trapd


def _webhooks(sink: HttpSink) -> list[dict]:
    """Every webhook received, each signature checked."""
    out = []
    for _path, headers, body in sink.requests:
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers["X-IXP-Signature"], expected)
        out.append(json.loads(body))
    return out


def _until(engine: AlertEngine, want: Callable[[list[dict]], bool], what: str,
           timeout: float = 90) -> list[dict]:
    """Run alert rounds until the events so far satisfy ``want``; those events."""
    seen: list[dict] = []

    def probe() -> bool | str:
        seen.extend(engine.round())
        return want(seen) or ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe():
            return seen
        time.sleep(1.0)
    pytest.fail(f"timed out waiting for {what}; events: "
                f"{[(e['kind'], e['alert']['key']) for e in seen]}; open: "
                f"{sorted(engine.store.state()['open'])}")


def _keys(events: list[dict], kind: str) -> set[str]:
    return {e["alert"]["key"] for e in events if e["kind"] == kind}


def test_alerts_fire_and_resolve_on_real_causes(alert_lab):
    cfg, state, state_dir, sink, trapd = alert_lab
    # the SNMP agent numbers the ports when it starts (its stable ifIndex map); the traps
    # name a port by the agent's number, so number them as the agent does
    IfIndexMap(state_dir / "snmp" / "ifindex.json").assign(m.ports[0].interface
                                                         for m in cfg.members)
    engine = AlertEngine(Target(state_dir, state.appliance_netns), has_system=True,
                         ifindex=ifindex_reader(state_dir))
    assert engine.round() == []  # all well: nothing sent
    assert engine.round() == []
    assert sink.requests == []

    # 1. stop member 1's BIRD: its sessions go down, the alert goes out, then resolves
    lm = state.members[0]
    v4 = next(s["protocol"] for s in route_server_sessions(state_dir, cfg)["sessions"]
              if s["asn"] == lm.asn and s["family"] == "ipv4")
    os.kill(lm.pid, signal.SIGTERM)
    events = _until(engine, lambda ev: f"session_down:{v4}" in _keys(ev, "firing"),
                    "the session-down alert")
    fired = next(e["alert"] for e in events if e["alert"]["key"] == f"session_down:{v4}")
    assert fired["asn"] == 64496 and "AS64496 Island Telecom" in fired["text"]
    doc = next(d for d in _webhooks(sink) if d["alert"]["key"] == f"session_down:{v4}")
    assert doc["kind"] == "firing" and doc["ixp"] == "EIIX"
    trapd.wait_for(".1.3.6.1.2.1.15.0.2")  # bgpBackwardTransNotification
    assert ".1.3.6.1.2.1.15.3.1.2.203.0.113.10 = INTEGER: 1" in trapd.log.read_text()

    conf = lab_dir(state_dir) / "m1.conf"
    proc = subprocess.Popen(netns.command(lm.netns, ["bird", "-f", "-c", str(conf), "-s",
                                                     lm.socket]),
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    saved = LabState.load(state_dir)
    saved.members[0].pid = proc.pid  # lab_down ends it
    saved.save(state_dir)
    events = _until(engine, lambda ev: f"session_down:{v4}" in _keys(ev, "resolved"),
                    "the session's resolution", timeout=150)
    assert any(d["kind"] == "resolved" and d["alert"]["key"] == f"session_down:{v4}"
               for d in _webhooks(sink))
    log = trapd.wait_for(".1.3.6.1.2.1.15.0.1")  # bgpEstablishedNotification
    assert ".1.3.6.1.2.1.15.3.1.2.203.0.113.10 = INTEGER: 6" in log

    # 2. member 3's link goes down at its end: the port alert, IF-MIB linkDown; then up
    m3 = state.members[2]
    netns.run(m3.netns, ["ip", "link", "set", "eth0", "down"])
    key = f"port_down:{m3.port}"
    events = _until(engine, lambda ev: key in _keys(ev, "firing"), "the port-down alert")
    alert = next(e["alert"] for e in events if e["alert"]["key"] == key)
    assert alert["member"] == "AS64498 Reef Networks" and alert["port"] == m3.port
    index = ifindex_reader(state_dir)()[m3.port]
    log = trapd.wait_for(".1.3.6.1.6.3.1.1.5.3")  # linkDown
    assert f".1.3.6.1.2.1.2.2.1.8.{index} = INTEGER: 2" in log
    netns.run(m3.netns, ["ip", "link", "set", "eth0", "up"])
    _until(engine, lambda ev: key in _keys(ev, "resolved"), "the port's resolution")
    trapd.wait_for(".1.3.6.1.6.3.1.1.5.4")  # linkUp

    # 3. member 4 sends frames with a spoofed source MAC: dropped, and named
    m4 = state.members[3]
    sender = Sender(m4.netns, "eth0")
    try:
        frame = bytes(Ether(src=SPOOF, dst="ff:ff:ff:ff:ff:ff")
                      / IP(src="203.0.113.13", dst="255.255.255.255") / UDP(sport=9, dport=9)
                      / Raw(b"spoofed source MAC"))
        engine.round()  # a reading of the counters before the frames

        def flood(ev: list[dict]) -> bool:
            for _ in range(200):
                sender.send(frame)
            return f"hygiene_drops:{m4.port}:src_mac" in _keys(ev, "firing")
        events = _until(engine, flood, "the hygiene alert", timeout=30)
    finally:
        sender.close()
    alert = next(e["alert"] for e in events
                 if e["alert"]["key"] == f"hygiene_drops:{m4.port}:src_mac")
    assert alert["member"] == "AS64499 University of Example Island"
    assert alert["port"] == m4.port and alert["reason"] == "src_mac"
    assert "src_mac" in alert["text"] and alert["value"] > 5
    _until(engine, lambda ev: f"hygiene_drops:{m4.port}:src_mac" in _keys(ev, "resolved"),
           "the hygiene alert's resolution", timeout=30)

    # 4. IRR data for member 1 that registers other prefixes than the ones it announces, and
    # fetched a month ago: its routes are refused as unregistered, and the data is stale
    month_ago = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 30 * 86400))
    irr = state_dir / "irr" / "cache.json"
    irr.parent.mkdir(parents=True, exist_ok=True)
    irr.write_text(json.dumps({"AS-ISLANDTEL": {
        "source": "test", "fetched_at": month_ago, "asns": [64496],
        "ipv4": [{"prefix": "198.51.100.0/24", "exact": True}],
        "ipv6": [{"prefix": "2001:db8:1::/48", "exact": True}]}}))
    assert build_pipeline(Target(state_dir, state.appliance_netns)).reapply_latest(
        author="t").ok
    irr_key = f"filtered_routes:{v4}:irr"
    events = _until(engine, lambda ev: {irr_key, "filter_data_stale:irr"}
                    <= _keys(ev, "firing"), "the IRR alerts")
    alert = next(e["alert"] for e in events if e["alert"]["key"] == irr_key)
    assert alert["asn"] == 64496 and alert["value"] == 1 and alert["reason"] == "irr"
    assert alert["details"]["examples"] == ["31.0.0.0/24"]
    assert "not registered in the IRR" in alert["text"]
    stale = next(e["alert"] for e in events if e["alert"]["key"] == "filter_data_stale:irr")
    assert "30 days old" in stale["text"]
    irr.unlink()  # the data is gone: nothing refused for IRR, nothing stale
    assert build_pipeline(Target(state_dir, state.appliance_netns)).reapply_latest(
        author="t").ok
    _until(engine, lambda ev: {irr_key, "filter_data_stale:irr"} <= _keys(ev, "resolved"),
           "the IRR alerts' resolution")

    # 5. member 2 announces a second IPv4 route over its limit of 1: max-prefix trip
    m2 = state.members[1]
    conf2 = lab_dir(state_dir) / "m2.conf"
    text = conf2.read_text()
    first = next(line for line in text.splitlines() if line.strip().startswith("route ")
                 and "." in line)
    conf2.write_text(text.replace(first, first + "\n  route 31.255.0.0/24 blackhole;", 1))
    subprocess.run(["birdc", "-s", m2.socket, "configure"], check=True, capture_output=True,
                   timeout=20)
    events = _until(engine, lambda ev: any(k.startswith("max_prefix:")
                                           for k in _keys(ev, "firing")),
                    "the max-prefix alert", timeout=120)
    alert = next(e["alert"] for e in events if e["alert"]["rule"] == "max_prefix")
    assert alert["asn"] == 64497 and "max-prefix limit (1)" in alert["text"]
    assert any(d["alert"]["rule"] == "max_prefix" for d in _webhooks(sink))
    # ours for the rest: the max-prefix trap carries the rule and the text
    log = trapd.wait_for('.1.3.6.1.4.1.8072.9999.9999.18.1.1 = STRING: "max_prefix"')
    assert "AS64497 Lagoon Broadband" in log

    # every delivery went out, none is waiting
    deliveries = json.loads((state_dir / "alerts" / "deliveries.json").read_text())
    assert deliveries["queue"] == [] and all(d["ok"] for d in deliveries["log"])
