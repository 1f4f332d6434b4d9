"""Prefix counts per route-server session: stored only on change (plus heartbeats), bounded
like the traffic samples, read back as step series with gaps; drawn as pure SVG."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from appliance.monitor.graphs import svg_prefix_chart
from appliance.monitor.store import (
    COARSE_KEEP,
    FINE_KEEP,
    PREFIX_COARSE_HEARTBEAT,
    PREFIX_HEARTBEAT,
    PrefixPoint,
    SampleStore,
    SessionCounts,
)

T0 = 1_700_000_000 - 1_700_000_000 % 300  # on a 5-minute boundary


def _s(accepted: int, filtered: int = 0, exported: int = 4, session: str = "c64496_v4",
       asn: int | None = 64496, family: str = "ipv4") -> SessionCounts:
    return SessionCounts(session, asn, family, "203.0.113.10", "Island Telecom",
                         accepted + filtered, accepted, filtered, exported)


def test_only_changes_and_heartbeats_are_written(tmp_path):
    store = SampleStore(tmp_path / "s.sqlite")
    assert store.add_prefix_counts(T0, [_s(10)]) == 2  # first row: fine and coarse
    for k in range(1, 4):  # the same counts every minute: nothing new
        assert store.add_prefix_counts(T0 + 60 * k, [_s(10)]) == 0
    assert store.add_prefix_counts(T0 + 240, [_s(11, 1)]) == 1  # changed: a fine row
    # a new 5-minute bucket with counts unlike the last coarse row: a coarse row too
    assert store.add_prefix_counts(T0 + 300, [_s(11, 1)]) == 1
    # unchanged for PREFIX_HEARTBEAT: a heartbeat row, so a quiet session still shows
    assert store.add_prefix_counts(T0 + 240 + PREFIX_HEARTBEAT, [_s(11, 1)]) == 1
    assert store.prefix_row_counts() == {"fine": 3, "coarse": 2}

    [seg] = store.prefix_series("c64496_v4", T0 - 10)
    assert [(p.ts, p.received, p.accepted, p.filtered, p.exported) for p in seg] == [
        (T0, 10, 10, 0, 4), (T0 + 240, 12, 11, 1, 4), (T0 + 540, 12, 11, 1, 4)]
    [info] = store.sessions()
    assert (info.asn, info.family, info.last_seen) == (64496, "ipv4", T0 + 540)
    assert store.sessions(asn=64497) == []


def test_counts_survive_a_new_store_object(tmp_path):
    # the collector restarts: it must not rewrite every session, nor forget the heartbeat
    first = SampleStore(tmp_path / "s.sqlite")
    first.add_prefix_counts(T0, [_s(5), _s(7, session="c64497_v4", asn=64497)])
    again = SampleStore(tmp_path / "s.sqlite")
    assert again.add_prefix_counts(T0 + 60, [_s(5), _s(8, session="c64497_v4", asn=64497)]) \
        == 1
    assert [i.asn for i in again.sessions()] == [64496, 64497]


def test_series_starts_at_the_range_and_breaks_at_gaps(tmp_path):
    store = SampleStore(tmp_path / "s.sqlite")
    for k in range(0, 11):  # ten minutes of samples
        store.add_prefix_counts(T0 + 60 * k, [_s(3 if k < 5 else 4)])
    # the collector was off for an hour, then the count is 2
    store.add_prefix_counts(T0 + 600 + 3600, [_s(2)])
    store.add_prefix_counts(T0 + 600 + 3660, [_s(2)])
    segments = store.prefix_series("c64496_v4", T0 + 120)
    assert len(segments) == 2
    first, second = segments
    # the count at the range's start comes from the row before it
    assert (first[0].ts, first[0].accepted) == (T0 + 120, 3)
    assert [(p.ts, p.accepted) for p in first] == [(T0 + 120, 3), (T0 + 300, 4), (T0 + 600, 4)]
    assert [(p.ts, p.accepted) for p in second] == [(T0 + 4200, 2), (T0 + 4260, 2)]
    # a range after the session was last seen: nothing, rather than an invented count
    assert store.prefix_series("c64496_v4", T0 + 10_000) == []
    assert store.prefix_series("no-such-session", T0) == []


def test_storage_is_bounded_like_the_traffic(tmp_path):
    store = SampleStore(tmp_path / "s.sqlite")
    start = T0
    stamps = [start + i * 60 for i in range(3 * 24 * 60)]  # three days, every minute
    for i, ts in enumerate(stamps):
        # a count that changes every 30 minutes
        store.add_prefix_counts(ts, [_s(100 + (i // 30) % 2)])
    counts = store.prefix_row_counts()
    # fine: two days at most; changes every 30 min plus heartbeats every 5 min
    assert counts["fine"] <= FINE_KEEP // PREFIX_HEARTBEAT + 1
    # coarse: one row per change (at 5-minute resolution) plus an hourly heartbeat
    assert counts["coarse"] <= len(stamps) // 30 + len(stamps) * 60 // PREFIX_COARSE_HEARTBEAT
    # a span beyond two days reads the coarse table and still sees both levels
    long = store.prefix_series("c64496_v4", start - 1)
    assert {p.accepted for seg in long for p in seg} == {100, 101}
    assert len(long) == 1, "hourly heartbeats must keep a quiet coarse series unbroken"
    assert COARSE_KEEP > FINE_KEEP
    # beyond 60 days everything of the session is gone
    store.add_prefix_counts(start + COARSE_KEEP + 4 * 86400, [_s(1, session="other")])
    assert store.prefix_row_counts()["coarse"] == 1
    assert [i.session for i in store.sessions()] == ["other"]


def test_prefix_svg_is_pure_and_steps():
    seg = [PrefixPoint(T0, 10, 9, 1, 40), PrefixPoint(T0 + 600, 12, 10, 2, 41),
           PrefixPoint(T0 + 900, 12, 10, 2, 41)]
    a = svg_prefix_chart([seg], title="AS64496 <Island>", since=T0 - 300, until=T0 + 1200)
    assert a == svg_prefix_chart([seg], title="AS64496 <Island>", since=T0 - 300,
                                 until=T0 + 1200)
    root = ET.fromstring(a)
    lines = {el.get("class"): el.get("points") for el in root.iter()
             if el.tag.endswith("polyline")}
    assert set(lines) == {"received", "accepted", "filtered", "exported"}
    # a step: two points share the x of the change, the old count first
    xs = [p.split(",")[0] for p in lines["accepted"].split()]
    assert len(xs) == 5 and xs[1] == xs[2]
    assert "AS64496 &lt;Island&gt;" in a and "accepted 10" in a
    assert "http" not in a.replace("http://www.w3.org/2000/svg", "")
    empty = svg_prefix_chart([], title="none", since=T0, until=T0 + 60)
    assert "no counts in this range" in empty and "<polyline" not in empty
    ET.fromstring(empty)
