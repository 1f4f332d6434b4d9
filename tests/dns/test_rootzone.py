"""Judging the local root copy: missing, fresh, stale, expired; and offline in the lab."""

from __future__ import annotations

import os
import time

import pytest

from appliance.resolver.rootzone import parse_list_auth_zones, read_facts, root_zone_status
from appliance.resolver.status import resolver_status
from labkit.resolver import dig, resolver_lab, status_of
from tests.dns.variants import (
    FIXTURE_ADDR,
    FIXTURE_NAME,
    FIXTURE_ROOT,
    example_data,
    fixture_options,
)

NOW = 1_800_000_000.0
# Not a real signature: only the timing fields matter to the status.
SIGNED = """\
.  86400 IN SOA a.root-servers.net. nstld.example.net. 2026112301 1800 900 604800 86400
.  86400 IN RRSIG SOA 8 0 86400 {exp} 20260101000000 20326 . AAAA
.  86400 IN RRSIG NS 8 0 518400 {later} 20260101000000 20326 . AAAA
"""


def _zone(tmp_path, text: str, age: float):
    path = tmp_path / "root.zone"
    path.write_text(text)
    os.utime(path, (NOW - age, NOW - age))
    return path


def test_facts_from_the_fixture():
    facts = read_facts(FIXTURE_ROOT.read_text().splitlines())
    assert (facts.serial, facts.refresh, facts.expire) == (2026112301, 1800, 604800)
    assert facts.signatures_expire is None


def test_missing(tmp_path):
    st = root_zone_status(tmp_path / "root.zone", now=NOW)
    assert st.state == "missing" and "no local copy" in st.message


def test_fresh_then_stale_by_age(tmp_path):
    text = FIXTURE_ROOT.read_text()
    assert root_zone_status(_zone(tmp_path, text, 3600), now=NOW).state == "fresh"
    st = root_zone_status(_zone(tmp_path, text, 3 * 86400), now=NOW)
    assert st.state == "stale" and "STALE" in st.message and "3.0 days" in st.message


def test_expired_signatures_are_expired(tmp_path):
    past = time.strftime("%Y%m%d%H%M%S", time.gmtime(NOW - 60))
    future = time.strftime("%Y%m%d%H%M%S", time.gmtime(NOW + 10 * 86400))
    st = root_zone_status(_zone(tmp_path, SIGNED.format(exp=past, later=future), 60), now=NOW)
    assert st.state == "expired" and "signatures" in st.message
    st = root_zone_status(_zone(tmp_path, SIGNED.format(exp=future, later=future), 3 * 86400),
                          now=NOW)
    assert st.state == "stale" and "10.0 days more" in st.message
    assert st.signatures_expire == pytest.approx(NOW + 10 * 86400)


def test_unbound_view_wins_when_it_says_expired(tmp_path):
    path = _zone(tmp_path, FIXTURE_ROOT.read_text(), 60)
    assert parse_list_auth_zones(".\texpired\n") == "expired"
    assert parse_list_auth_zones("example.\tserial 1\n.\tserial 5\n") == "serial 5"
    # unbound 1.2x (Debian 13) adds when it got the serial
    assert parse_list_auth_zones(".\tserial 5\t since 1796145381 2026-12-01T17:16:21\n") == \
        "serial 5"
    # and unbound 1.26 prints stray bytes of its buffer after "expired"
    assert parse_list_auth_zones(".\texpired\x10(yb\ufffd\x7f\n") == "expired"
    st = root_zone_status(path, now=NOW, unbound_view="expired")
    assert st.state == "expired" and "EXPIRED" in st.message


@pytest.mark.netns
def test_offline_the_local_root_answers_until_it_expires(root_required, tool, tmp_path):
    tool("unbound", "unbound")
    tool("dig", "bind9-dnsutils")
    # SOA with an expiry of 8 s and a primary that cannot be reached (TEST-NET-1, no route
    # in the lab): the box is offline, as an island after a cable cut.
    short = tmp_path / "short.zone"
    short.write_text(FIXTURE_ROOT.read_text().replace("2026112301 1800 900 604800 86400",
                                                      "2026112301 2 2 8 60"))
    opts = fixture_options(primaries=(("192.0.2.1", "unreachable"),), seed=str(short))
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    with resolver_lab(example_data(), state_dir, opts) as lab:
        member = lab.state.members[0].netns
        res = dig(member, "203.0.113.53", FIXTURE_NAME, "+short")
        assert res.stdout.split() == [FIXTURE_ADDR], res.stdout
        st = resolver_status(state_dir)
        assert st["running"] and st["root_zone"]["state"] == "fresh", st
        assert st["root_zone"]["unbound_view"] == "serial 2026112301"
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            st = resolver_status(state_dir)
            if st["root_zone"]["state"] == "expired":
                break
            time.sleep(0.5)
        assert st["root_zone"]["state"] == "expired", st["root_zone"]
        assert "EXPIRED" in st["root_zone"]["message"]
        # expired and offline: a clear failure, never a made-up answer
        res = dig(member, "203.0.113.53", "other.island.example.", "A")
        assert status_of(res.stdout) == "SERVFAIL", res.stdout
