"""The traffic matrix's history in the sample store: rates per ordered member pair over the
last hour / day / month, counter resets left out (never negative), and bounded tiers."""

from __future__ import annotations

from appliance.monitor.store import (
    FINE_KEEP,
    PairSample,
    SampleStore,
    counter_deltas,
    period_rate,
)

T0 = 1_700_000_100  # a 5-minute bucket's start


def test_a_round_without_a_value_counts_zero_and_a_reset_is_left_out():
    rounds = [0, 300, 600, 900, 1200]
    # the element appears at 300 (counted from 0), the set is re-created at 900 (gone), and
    # the new element counts again from 0 at 1200
    values = {300: (3000, 3), 600: (6000, 6), 1200: (1500, 1)}
    deltas = counter_deltas(rounds, values)
    assert deltas == [(300, 300, 3000, 3), (600, 300, 3000, 3), (1200, 300, 1500, 1)]
    assert all(d[2] >= 0 and d[3] >= 0 for d in deltas)
    bps, pps, total = period_rate(rounds, values)
    assert total == 7500 and bps == 7500 * 8 / 900 and pps == 7 / 900


def test_a_counter_that_went_down_is_not_a_negative_rate():
    rounds = [0, 60, 120]
    values = {0: (10_000, 10), 60: (200, 2), 120: (800, 8)}  # reset between 0 and 60
    assert counter_deltas(rounds, values) == [(120, 60, 600, 6)]
    assert period_rate([0, 60], {0: (10, 1), 60: (5, 1)}) is None  # only a reset: no rate


def test_rates_over_each_period_from_stored_rounds(tmp_path):
    store = SampleStore(tmp_path / "samples.sqlite")
    step = 300
    # two days of rounds every 5 minutes: AS1 sends AS2 1000 B/s throughout, AS2 sends AS1
    # only in the last 30 minutes, AS3 nothing (never in the kernel's set)
    end = T0 + 2 * 86400
    for ts in range(T0, end + 1, step):
        pairs = [PairSample(1, 2, "ipv4", (ts - T0) * 1000, (ts - T0))]
        if ts > end - 1800:
            pairs.append(PairSample(2, 1, "ipv6", (ts - (end - 1800)) * 500, 1))
        store.add_matrix(ts, pairs)
    hour = {(r.src, r.dst, r.family): r for r in store.matrix_rates(3600, now=end)}
    assert set(hour) == {(1, 2, "ipv4"), (2, 1, "ipv6")}
    assert hour[(1, 2, "ipv4")].bps == 8000
    # 30 minutes of 500 B/s over the hour's intervals (the pair counts 0 before it appeared)
    assert hour[(2, 1, "ipv6")].bps == 500 * 8 * 1800 / 3600
    assert hour[(2, 1, "ipv6")].bytes == 500 * 1800
    day = {(r.src, r.dst, r.family): r for r in store.matrix_rates(86400, now=end)}
    assert day[(1, 2, "ipv4")].bps == 8000 and day[(1, 2, "ipv4")].bytes == 86400 * 1000
    month = {(r.src, r.dst, r.family): r for r in store.matrix_rates(30 * 86400, now=end)}
    assert month[(1, 2, "ipv4")].bps == 8000  # hourly coarse rounds, same average
    assert not [r for r in store.matrix_rates(3600, now=end) if 3 in (r.src, r.dst)]
    # the chart series from AS1's side: out is what it sent AS2, in what AS2 sent it
    series = store.pair_rates(1, 2, end - 3600, end)
    assert len(series) == 12 and all(r.tx_bps == 8000 for r in series)
    assert [r.rx_bps for r in series][-6:] == [4000.0] * 6 and series[0].rx_bps == 0
    assert store.matrix_peers(1, end - 3600, end) == [2]
    assert store.matrix_peers(3, end - 3600, end) == []


def test_a_recreated_set_gives_no_negative_rate_in_the_store(tmp_path):
    store = SampleStore(tmp_path / "samples.sqlite")
    store.add_matrix(T0, [PairSample(1, 2, "ipv4", 50_000, 50)])
    store.add_matrix(T0 + 300, [PairSample(1, 2, "ipv4", 80_000, 80)])
    store.add_matrix(T0 + 600, [PairSample(1, 2, "ipv4", 1_000, 1)])  # set re-created
    store.add_matrix(T0 + 900, [PairSample(1, 2, "ipv4", 4_000, 4)])
    rates = store.matrix_rates(3600, now=T0 + 900)
    assert len(rates) == 1 and rates[0].bytes == 30_000 + 3_000
    assert rates[0].bps == 33_000 * 8 / 600
    assert all(r.tx_bps >= 0 for r in store.pair_rates(1, 2, T0, T0 + 900))


def test_the_matrix_tiers_are_bounded(tmp_path):
    store = SampleStore(tmp_path / "samples.sqlite")
    pairs = [PairSample(a, b, "ipv4", 1, 1) for a in (1, 2, 3) for b in (1, 2, 3) if a != b]
    for ts in range(T0, T0 + 4 * 86400, 60):  # every minute for four days
        store.add_matrix(ts, pairs)
    counts = store.matrix_row_counts()
    # one round per 5 minutes kept for 2 days, one per hour for all four days
    assert counts["matrix_fine"] == len(pairs) * (FINE_KEEP // 300)
    hours = len({ts // 3600 for ts in range(T0, T0 + 4 * 86400, 60)})  # 97: T0 is mid-hour
    assert counts["matrix_coarse"] == len(pairs) * hours


def test_the_collectors_matrix_reader_loads_no_model():
    # the resident collector stays small (issue 14): reading the matrix must not pull in the
    # configuration model or the bridge renderer
    import subprocess
    import sys

    code = ("import sys, appliance.monitor.collector, appliance.bridge.matrix; "
            "print(sorted(m for m in ('appliance.config.model', 'appliance.bridge.render', "
            "'pydantic') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stdout
