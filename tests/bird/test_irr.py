"""IRR data: bgpq4 JSON parsing, fetching through bgpq4 (faked: no Internet in tests), the
offline cache/import file, and the data's age."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from appliance.route_server.irr import IrrPrefix, parse_bgpq4_prefixes, parse_irr_cache
from appliance.route_server.irr_fetch import (
    age_seconds,
    bgpq4_argv,
    fetch_entry,
    load_cache,
    refresh,
    save_cache,
)

IRR = Path(__file__).resolve().parents[1] / "fixtures" / "bird" / "irr"


def fake_bgpq4(argv, **_kw):
    """Answers like bgpq4 -j would, from the fixture files; AS-DOWN is unreachable."""
    if argv[-1] == "AS-DOWN":
        return subprocess.CompletedProcess(argv, 1, "", "connection refused")
    what = "asns" if "-t" in argv else "ipv6" if "-6" in argv else "ipv4"
    return subprocess.CompletedProcess(argv, 0, (IRR / f"bgpq4-{what}.json").read_text(), "")


def test_bgpq4_prefix_entries():
    doc = json.loads((IRR / "bgpq4-ipv4.json").read_text())
    p = parse_bgpq4_prefixes(doc, 4)
    assert p == (IrrPrefix("31.1.0.0/16", 24), IrrPrefix("31.5.0.0/16"),
                 IrrPrefix("10.0.0.0/8", 24, 16))
    assert [x.bird() for x in p] == ["31.1.0.0/16{16,24}", "31.5.0.0/16", "10.0.0.0/8{16,24}"]
    with pytest.raises(ValueError):
        parse_bgpq4_prefixes(doc, 6)
    with pytest.raises(ValueError):
        parse_bgpq4_prefixes({"irr": [{"prefix": "31.0.0.0/16", "exact": False,
                                       "less-equal": 8}]}, 4)


def test_bgpq4_arguments():
    assert bgpq4_argv("AS-M1", "ipv6", ["RIPE", "APNIC"]) == [
        "bgpq4", "-j", "-l", "irr", "-S", "RIPE,APNIC", "-6", "--", "AS-M1"]
    assert "-t" in bgpq4_argv("AS64500", "asns", [])


def test_fetch_entry_through_bgpq4():
    e = fetch_entry("AS-M1", ["RIPE"], now="2026-11-20T00:00:00Z", run=fake_bgpq4)
    assert e.asns == (10001, 10011)
    assert len(e.prefixes4) == 3 and e.prefixes6 == (IrrPrefix("2a0c:1::/32", 48),)
    assert e.fetched_at == "2026-11-20T00:00:00Z" and "RIPE" in e.source


def test_offline_refresh_keeps_cached_data(tmp_path):
    cache = tmp_path / "irr" / "cache.json"
    first = refresh(["AS-M1"], ["RIPE"], cache, now="2026-11-20T00:00:00Z", run=fake_bgpq4)
    assert not first.failed and "AS-M1" in first.data.entries
    # Offline now: the old entry stays, with its old time, and the failure is reported.
    def offline(argv, **_kw):
        raise FileNotFoundError("no route to the IRR")
    second = refresh(["AS-M1", "AS-DOWN"], ["RIPE"], cache, now="2026-11-23T00:00:00Z",
                     run=offline)
    assert set(second.failed) == {"AS-M1", "AS-DOWN"}
    kept = second.data.entries["AS-M1"]
    assert kept == first.data.entries["AS-M1"]
    assert age_seconds(kept, datetime(2026, 11, 23, tzinfo=UTC)) == 3 * 86400
    assert load_cache(cache) == second.data


def test_import_file_round_trip(tmp_path):
    data = parse_irr_cache(json.loads((IRR / "irr-cache.json").read_text()))
    entry = data.entries["AS-M1"]
    assert entry.asns == (10001, 10011)
    assert entry.prefixes4 == (IrrPrefix("31.1.0.0/16", 24),)
    save_cache(tmp_path / "c.json", data)
    assert load_cache(tmp_path / "c.json") == data
    assert load_cache(tmp_path / "missing.json").entries == {}
    with pytest.raises(ValueError, match="AS-BAD"):
        parse_irr_cache({"AS-BAD": {"ipv4": [{"prefix": "nonsense"}]}})
