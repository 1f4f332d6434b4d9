"""The exact traffic matrix (issue 18): every byte between every pair of members, counted in
the kernel by the bridge ruleset. Real frames between real namespaces: what each member sent
to each other member is counted exactly, per family; pairs that exchanged nothing have no
entry; dropped frames are not counted; a configuration change keeps the counts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import bridgelab as bl
import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from appliance.bridge.concern import BridgeConcern
from appliance.bridge.status import member_matrix, read_matrix
from appliance.config.loader import config_from_data
from appliance.pipeline.run import Pipeline
from appliance.platform.target import Target
from appliance.web import create_app
from appliance.web.accounts import hash_password
from appliance.web.api import tokens
from labkit.frames import Sender
from tests.web.conftest import logged_in

# These calls only read or change the namespace: no state directory is involved.
NO_STATE = Path("/nonexistent")

pytestmark = pytest.mark.netns


def _frames(a: bl.MemberNS, b: bl.MemberNS, n: int, payload: int, v6: bool) -> list[bytes]:
    # to b's MAC, for a destination behind b (not b's own address): as peering traffic is,
    # and b's kernel drops it without an answer that would be counted too
    ip = IPv6(src=a.ipv6, dst="2001:db8:99::7") if v6 else IP(src=a.ipv4, dst="198.51.100.7")
    return [bytes(Ether(src=a.mac, dst=b.mac) / ip / UDP(sport=5000, dport=5001)
                  / Raw(bytes(payload)))] * n


def _send(a: bl.MemberNS, frames: list[bytes]) -> None:
    sender = Sender(a.ns)
    try:
        for f in frames:
            sender.send(f)
    finally:
        sender.close()


def test_the_matrix_counts_every_byte_between_members_exactly(tmp_path):
    with bl.applied_lan(tmp_path / "state", count=3) as (app, (m1, m2, m3)):
        assert not [p for p in read_matrix(Target(tmp_path,
                                                  app)) if not p.dst.startswith("33:33")], \
            "nothing counted between members before anyone sent"
        for m in (m1, m2, m3):  # what is behind them: dropped silently (no ICMPv6 error back)
            bl.sh(m.ns, "ip", "-6", "route", "add", "blackhole", "2001:db8:99::/48")
        _send(m1, _frames(m1, m2, 7, 1000, v6=False))   # IPv4: 20 + 8 + 1000 bytes each
        _send(m2, _frames(m2, m3, 3, 500, v6=True))     # IPv6: 40 + 8 + 500 bytes each
        _send(m1, _frames(m1, m3, 2, 100, v6=True))
        spoofed = bytes(Ether(src="02:66:00:00:00:99", dst=m2.mac)
                        / IP(src=m1.ipv4, dst=m2.ipv4) / UDP() / Raw(b"x" * 50))
        _send(m1, [spoofed] * 4)  # dropped by the hygiene rules: never counted
        want = {(m1.mac, m2.mac, "ipv4"): (7, 7 * 1028), (m2.mac, m3.mac, "ipv6"): (3, 3 * 548),
                (m1.mac, m3.mac, "ipv6"): (2, 2 * 148)}

        macs = {m1.mac, m2.mac, m3.mac}

        def counted() -> dict:  # between members (a kernel's multicast ND is not a member)
            return {(p.src, p.dst, p.family): (p.packets,
                                               p.bytes) for p in read_matrix(Target(tmp_path, app))
                    if p.src in macs and p.dst in macs}
        assert bl.poll(lambda: counted() == want), counted()

        cfg = bl.config([bl.member_data(i) for i in (1, 2, 3)])
        rows = {(r["from_asn"], r["to_asn"], r["family"]): (r["packets"], r["bytes"])
                for r in member_matrix(cfg, Target(NO_STATE, app))}
        a1, a2, a3 = (4_200_000_000 + i for i in (1, 2, 3))
        assert rows == {(a1, a2, "ipv4"): (7, 7196), (a2, a3, "ipv6"): (3, 1644),
                        (a1, a3, "ipv6"): (2, 296)}

        # a change of the ruleset (the storm limit) is loaded in place: the counts stay
        data = cfg.model_dump(mode="json", exclude_defaults=True)
        data["peering_lan"]["storm_pps"] = 200
        data["admin_users"] = [{"name": "noc", "password_hash": hash_password("a long phrase")}]
        out = Pipeline(Target(tmp_path / "state", app), [BridgeConcern()]).run(
            config_from_data(data), author="test")
        assert out.ok, out.error
        assert counted() == want, "the counts survive an in-place update"

        # the same figures in ixpctl, the API and /metrics (summed per member there)
        cli = subprocess.run([sys.executable, "-m", "appliance.cli", "matrix", "--json",
                              "--state-dir", str(tmp_path / "state"), "--netns", app],
                             capture_output=True, text=True, timeout=60)
        assert cli.returncode == 0, cli.stderr
        assert json.loads(cli.stdout) == member_matrix(cfg, Target(NO_STATE, app))
        client = create_app(Target(tmp_path / "state", app)).test_client()
        auth = {"Authorization": "Bearer " + tokens.create(tmp_path / "state", "t", "noc")}
        assert client.get("/api/v1/matrix", headers=auth).get_json() == \
            member_matrix(cfg, Target(NO_STATE, app))
        text = client.get("/metrics", headers=auth).get_data(as_text=True)
        assert f'ixp_member_sent_bytes_total{{asn="{a1}",family="ipv6",member="Member 1"}} ' \
            "296.0" in text, [x for x in text.splitlines() if "member_sent" in x]
        assert f'ixp_member_received_bytes_total{{asn="{a3}",family="ipv6",member="Member 3"}} ' \
            "1940.0" in text

        # and as a table in the web UI, the busiest pair darkest
        web = logged_in(tmp_path / "state", "noc", "a long phrase")
        web.application.config["TARGET"] = Target(tmp_path / "state", app)
        assert b'href="/graphs/matrix"' in web.get("/graphs").data
        page = web.get("/graphs/matrix").get_data(as_text=True)
        assert f"AS{a1} Member 1" in page and page.count('class="heat-5"') == 1
        row = page[page.index(f"AS{a1} Member 1"):]
        row = row[:row.index("</tr>")]
        assert "7.2" in row and "kB" in row, row  # 7196 bytes to Member 2
        only6 = web.get("/graphs/matrix?family=ipv6").get_data(as_text=True)
        assert "7.2" not in only6[only6.index(f"AS{a1} Member 1"):].split("</tr>")[0]


def test_the_collector_keeps_the_matrix_and_the_page_shows_rates_per_period(tmp_path):
    import time

    from appliance.monitor.collector import Collector
    from appliance.monitor.store import SampleStore, samples_path

    state = tmp_path / "state"
    with bl.applied_lan(state, count=3) as (app, (m1, m2, _m3)):
        store = SampleStore(samples_path(state))
        collector = Collector(store, Target(tmp_path, app), state_dir=state)
        now = int(time.time())
        collector.sample_once(now - 300)  # before anyone sent: the counters start here
        _send(m1, _frames(m1, m2, 7, 1000, v6=False))  # 7 × 1028 bytes, Member 1 → 2

        a1, a2, a3 = (4_200_000_000 + i for i in (1, 2, 3))

        def sent() -> int:
            return sum(p.bytes for p in collector.sample_matrix(collector.targets.get().macs)
                       if (p.src, p.dst) == (a1, a2))
        assert bl.poll(lambda: sent() == 7196), sent()
        collector.sample_once(now)
        rates = store.matrix_rates(3600, now=now)
        assert [(r.src, r.dst, r.family, r.bytes) for r in rates] == [(a1, a2, "ipv4", 7196)]
        assert rates[0].bps == 7196 * 8 / 300
        assert not [r for r in store.matrix_rates(86400, now=now) if a3 in (r.src, r.dst)]

        # the page's last hour: the pair that exchanged traffic has a rate, the others none
        data = bl.config([bl.member_data(i) for i in (1, 2, 3)]).model_dump(
            mode="json", exclude_defaults=True)
        data["admin_users"] = [{"name": "noc", "password_hash": hash_password("a long phrase")}]
        out = Pipeline(Target(state, app), [BridgeConcern()]).run(config_from_data(data),
                                                                author="test")
        assert out.ok, out.error
        web = logged_in(state, "noc", "a long phrase")
        web.application.config["TARGET"] = Target(tmp_path / "state", app)
        page = web.get("/graphs/matrix?period=hour").get_data(as_text=True)
        assert 'id="period-note"' in page
        row = page[page.index(f"AS{a1} Member 1"):].split("</tr>")[0]
        assert "192 bit/s" in row, row  # 7196 B over 300 s: 191.9 bit/s
        for other in (f"AS{a2} Member 2", f"AS{a3} Member 3"):
            assert "bit/s" not in page[page.index(other, page.index("<tbody>")):].split(
                "</tr>")[0]
        # and Member 1's graphs page has a chart of its traffic with Member 2 only
        graphs = web.get(f"/graphs/member/{a1}").get_data(as_text=True)
        peers = graphs[graphs.index('id="peers"'):]
        assert f"AS{a2} Member 2" in peers and f"AS{a3} Member 3" not in peers
