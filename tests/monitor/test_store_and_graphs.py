"""Sample storage is bounded and exact; graphs are pure SVG."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from appliance.monitor.counters import PortCounters
from appliance.monitor.graphs import humanize, svg_chart
from appliance.monitor.store import COARSE_KEEP, FINE_KEEP, TOTAL, Rate, SampleStore


def _c(name, rx_bytes, tx_bytes=0, rx_packets=0, tx_packets=0):
    return PortCounters(name, rx_bytes, tx_bytes, rx_packets, tx_packets, 0, 0, 0, 0, True)


def test_rates_from_counter_deltas(tmp_path):
    store = SampleStore(tmp_path / "s.sqlite")
    store.add(1000, [_c("ixp1", 0, 0, 0, 0), _c("ixp2", 0)])
    store.add(1060, [_c("ixp1", 60_000, 6_000, 600, 60), _c("ixp2", 30_000)])
    rates = store.rates("ixp1", 0)
    assert rates == [Rate(1060, 8000.0, 800.0, 10.0, 1.0)]
    total = store.rates(TOTAL, 0)[0]
    assert total.rx_bps == (60_000 + 30_000) * 8 / 60
    assert store.latest_rate("ixp1") == rates[0]
    assert store.ports() == [TOTAL, "ixp1", "ixp2"]


def test_counter_reset_is_not_a_spike(tmp_path):
    store = SampleStore(tmp_path / "s.sqlite")
    store.add(0, [_c("ixp1", 1_000_000)])
    store.add(60, [_c("ixp1", 100)])  # the interface was recreated
    store.add(120, [_c("ixp1", 6100)])
    assert [r.ts for r in store.rates("ixp1", 0)] == [120]


def test_storage_is_bounded(tmp_path):
    store = SampleStore(tmp_path / "s.sqlite")
    start = 1_700_000_000
    stamps = [start + i * 120 for i in range(3 * 24 * 30)]  # three days, every 2 minutes
    for i, ts in enumerate(stamps):
        store.add(ts, [_c("ixp1", i * 1000)])
    counts = store.row_counts()
    # fine: at most two days (+1 sample), for the port and the total
    assert counts["fine"] <= 2 * (FINE_KEEP // 120 + 1)
    # coarse: one sample per 5-minute bucket, everything kept within 60 days
    buckets = len({ts // 300 for ts in stamps})
    assert counts["coarse"] == 2 * buckets
    long = store.rates("ixp1", start - 1)  # a span over 2 days reads the coarse table
    assert len(long) == buckets - 1
    assert all(abs(r.rx_bps - 1000 * 8 / 120) < 1e-6 for r in long)
    assert COARSE_KEEP > FINE_KEEP


def test_svg_is_pure_and_well_formed():
    rates = [Rate(1_700_000_000 + 60 * i, 1e6 * i, 5e5 * i, 100.0 * i, 50.0 * i)
             for i in range(10)]
    a = svg_chart(rates, title="Port <ixp1>")
    assert a == svg_chart(rates, title="Port <ixp1>")
    root = ET.fromstring(a)
    assert root.tag.endswith("svg")
    assert "Port &lt;ixp1&gt;" in a and "<polyline" in a and "<polygon" in a
    assert "collecting samples" in svg_chart([], title="empty")
    assert "http" not in a.replace("http://www.w3.org/2000/svg", "")


def test_humanize():
    assert humanize(12_300_000, "bit/s") == "12.3 Mbit/s"
    assert humanize(999, "pkt/s") == "999 pkt/s"
    assert humanize(2.5e9, "bit/s") == "2.5 Gbit/s"
