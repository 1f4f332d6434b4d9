"""The never-via-route-servers list read from the PeeringDB dump, and how bird.conf shows it."""

from __future__ import annotations

import json

import pytest

from appliance.route_server.bogons import load_bogons
from appliance.route_server.peeringdb import dump_path, load_never_via_rs, parse_never_via_rs
from appliance.route_server.render import max_prefix, render_bird
from tests.bird.configs import config, member


def _dump(tmp_path, data) -> object:
    path = dump_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


def test_flagged_networks_only_and_the_dump_time(tmp_path):
    path = _dump(tmp_path, {"meta": {"generated": 1763900000}, "net": {"data": [
        {"asn": 64500, "info_never_via_route_servers": True},
        {"asn": 64501, "info_never_via_route_servers": False},
        {"asn": 64502},
        {"asn": "64503", "info_never_via_route_servers": True},  # not an ASN: ignored
    ]}})
    got = load_never_via_rs(path)
    assert got.asns == (64500,)
    assert got.as_of == "2025-11-23T12:13:20Z" and got.problem is None


def test_without_meta_the_file_time_is_the_age(tmp_path):
    got = load_never_via_rs(_dump(tmp_path, {"net": [{"asn": 64500,
                                                      "info_never_via_route_servers": True}]}))
    assert got.asns == (64500,) and got.as_of and got.as_of.endswith("Z")


def test_missing_dump_is_an_empty_list(tmp_path):
    got = load_never_via_rs(dump_path(tmp_path))
    assert got.asns == () and got.as_of is None and got.problem is None


@pytest.mark.parametrize("text", ["{not json", json.dumps({"netixlan": []})])
def test_bad_dump_says_why_and_checks_nothing(tmp_path, text):
    got = load_never_via_rs(_dump(tmp_path, text))
    assert got.asns == () and got.problem
    with pytest.raises(ValueError, match="'net' table"):
        parse_never_via_rs({"ix": []})


def test_bird_conf_names_the_list_and_its_age():
    cfg = config([member(1, 10001), member(2, 64500)])
    never = parse_never_via_rs({"net": [{"asn": 64500, "info_never_via_route_servers": True},
                                        {"asn": 64511, "info_never_via_route_servers": True}]},
                               "2026-11-23T00:00:00Z")
    text = render_bird(cfg, load_bogons(), never_via_rs=never)
    assert "from the dump of 2026-11-23T00:00:00Z" in text
    assert "define NEVER_VIA_RS_ASNS = [ 64500, 64511 ];" in text
    # the flagged member's own ASN is taken out of its own check only
    assert text.count("delete(filter(bgp_path, NEVER_VIA_RS_ASNS), 64500)") == 2
    assert "no never-via-route-servers list" in render_bird(cfg, load_bogons())


def test_max_prefix_from_peeringdb_when_the_member_has_none():
    dump = parse_never_via_rs({"net": [{"asn": 10001, "info_prefixes4": 5000,
                                        "info_prefixes6": 0},
                                       {"asn": 10002, "info_prefixes4": 9_000_000,
                                        "info_prefixes6": 70}]})
    assert dump.prefixes == {10001: (5000, None), 10002: (9_000_000, 70)}
    cfg = config([member(1, 10001), member(2, 10002, max_prefix={"ipv4": 20}),
                  member(3, 10003)])
    m1, m2, m3 = cfg.members
    assert (max_prefix(m1, 4, dump.prefixes), max_prefix(m1, 6, dump.prefixes)) == (5000, 100)
    # the member's own value wins; PeeringDB fills the family it left unset
    assert (max_prefix(m2, 4, dump.prefixes), max_prefix(m2, 6, dump.prefixes)) == (20, 70)
    assert max_prefix(m3, 4, dump.prefixes) == 100  # not in the dump: the default
    text = render_bird(cfg, load_bogons(), never_via_rs=dump)
    assert "receive limit 5000 action" in text and "receive limit 70 action" in text
    big = config([member(2, 10002)]).members[0]
    assert max_prefix(big, 4, dump.prefixes) == 2_000_000  # capped at the model's bound
