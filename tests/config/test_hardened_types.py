"""Issue 16 item 9: names that reach other programs are checked whole."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from appliance.config.types import parse_as_set, parse_hostname, parse_ifname, parse_mac
from appliance.route_server.irr_fetch import bgpq4_argv


@pytest.mark.parametrize("value", ["ns1\n.example.net", "ns1.example\n.net"])
def test_host_name_with_a_newline_is_refused(value):
    with pytest.raises(ValueError, match="not a valid host name"):
        parse_hostname(value)


@pytest.mark.parametrize("value", ["-AS-FOO", "-H::AS-FOO", "-h::AS64500", "--::AS-X"])
def test_as_set_starting_with_a_dash_is_refused(value):
    with pytest.raises(ValueError, match="starts with a letter"):
        parse_as_set(value)


@pytest.mark.parametrize("value", ["AS-FOO", "RIPE::AS-FOO", "AS64500:AS-CUSTOMERS", "AS64500",
                                   "RADB::AS64500"])
def test_good_as_sets_still_pass(value):
    assert parse_as_set(value) == value


def test_other_names_still_parse():
    assert parse_hostname("NS1.Example.net.") == "ns1.example.net"
    assert parse_ifname("eth0.100") == "eth0.100"
    assert parse_mac("02-00-5E-10-00-01") == "02:00:5e:10:00:01"


def test_bgpq4_never_reads_the_object_as_an_option():
    argv = bgpq4_argv("AS-FOO", "asns", ["RIPE"], host="whois.example")
    assert argv[-2:] == ["--", "AS-FOO"]


@pytest.mark.skipif(shutil.which("bgpq4") is None, reason="bgpq4 is not installed")
def test_installed_bgpq4_takes_double_dash():
    # "-h" right after "--" would be the host option if bgpq4 did not stop there; an object
    # it cannot parse fails before any connection is tried (no network is touched).
    res = subprocess.run(["bgpq4", "-j", "-l", "irr", "-t", "--", "-h"], capture_output=True,
                         text=True, timeout=10, check=False)
    assert res.returncode != 0
    assert "requires an argument" not in res.stderr
    assert "-h" in res.stderr
