"""The BIRD config renderer: deterministic, accepted by the real bird -p, policy as expected."""

from __future__ import annotations

import subprocess

import pytest

from appliance.config.loader import load_config_text
from appliance.platform import shipped
from appliance.route_server.bogons import load_bogons, parse_bogons
from appliance.route_server.irr import IrrData, IrrEntry, IrrPrefix
from appliance.route_server.render import render_bird, session_name
from tests.bird.configs import config, many_members, member


def bird_conf(files):
    """bird.conf among the route-server concern's files (stayrtr's listen file is the other)."""
    (conf,) = [f for f in files if f.path == "bird/bird.conf"]
    return conf


def _irr_for(cfg) -> IrrData:
    entries = {}
    for m in cfg.members:
        if m.as_set:
            entries[m.as_set] = IrrEntry(
                asns=(m.asn,),
                prefixes4=(IrrPrefix("31.0.0.0/16", 24), IrrPrefix("31.1.0.0/24")),
                prefixes6=(IrrPrefix("2a0c::/32", 48),),
                fetched_at="2026-01-01T00:00:00Z", source="fixture")
    return IrrData(entries)


def _bird_parse(bird: str, text: str, tmp_path) -> subprocess.CompletedProcess[str]:
    conf = tmp_path / "bird.conf"
    conf.write_text(text)
    # the image's BIRD (IXP_SHIPPED_ROOT), which has ASPA; the host's may be older
    return subprocess.run(shipped.wrap_named([bird, "-p", "-c", str(conf)]),
                          capture_output=True, text=True, timeout=120)


def test_render_is_deterministic(example_text):
    cfg = load_config_text(example_text)
    first = render_bird(cfg, load_bogons())
    again = render_bird(load_config_text(example_text), load_bogons())
    assert first == again
    assert first.encode() == again.encode()


def test_example_renders_and_bird_accepts_it(example_text, tool, tmp_path):
    cfg = load_config_text(example_text)
    text = render_bird(cfg, load_bogons())
    res = _bird_parse(tool("bird", "bird2"), text, tmp_path)
    assert res.returncode == 0, res.stderr
    for m in cfg.members:
        for addr in (*m.ipv4, *m.ipv6):
            name = session_name(m.asn, str(addr))
            assert f"protocol bgp {name} {{" in text
            assert f"neighbor {addr} as {m.asn};" in text
    assert text.count("rs client;") == 10
    assert text.count("local role rs_server;") == 10
    assert text.count("passive on;") == 10
    assert "receive limit 200 action restart;" in text  # Island Telecom's IPv4 limit


def test_synthetic_200_members_bird_accepts(tool, tmp_path):
    cfg = many_members(200)
    text = render_bird(cfg, load_bogons(), _irr_for(cfg))
    res = _bird_parse(tool("bird", "bird2"), text, tmp_path)
    assert res.returncode == 0, res.stderr
    assert text.count("\nprotocol bgp ") == sum(
        len(m.ipv4) + len(m.ipv6) for m in cfg.members)
    assert 'password "secret-7";' in text
    # a member in quarantine keeps its session (the onboarding checklist needs it up) but
    # its pipe carries nothing either way
    assert "disabled;" not in text and text.count("# quarantine: the session runs") > 0
    assert "receive limit 21 action block;" in text  # member 11: max_prefix 21, action block
    assert "protocol rpki rpki1 {" in text


def test_32bit_route_server_asn_renders_large_communities_only(tool, tmp_path):
    cfg = config([member(1, 10001), member(2, 4200000001 - 1)], rs_asn=4200000000 - 1)
    text = render_bird(cfg, load_bogons())
    assert "(0, RS_ASN)" not in text and "(RS_ASN, *)" not in text
    res = _bird_parse(tool("bird", "bird2"), text, tmp_path)
    assert res.returncode == 0, res.stderr


def test_lab_config_allows_documentation_asns(example_text):
    cfg = load_config_text(example_text)
    bogon_line = next(x for x in render_bird(cfg, load_bogons()).splitlines()
                      if x.startswith("define BOGON_ASNS"))
    assert "64496..64511" not in bogon_line and "65536..65551" not in bogon_line
    assert "64512..65534" in bogon_line
    prod = cfg.model_copy(update={"lab": False})
    prod_line = next(x for x in render_bird(prod, load_bogons()).splitlines()
                     if x.startswith("define BOGON_ASNS"))
    assert "64496..64511" in prod_line and "65536..65551" in prod_line


def test_policy_overrides_reach_the_member_filter():
    cfg = config([member(1, 10001, policy={"ipv4_max_length": 22, "next_hop": "same_as",
                                             "enforce_first_as": False}),
                  member(2, 10001), member(3, 10003)])
    text = render_bird(cfg, load_bogons())
    f1 = text.split("filter rs_in_c10001_185_1_0_10\n", 1)[1].split("\n}\n", 1)[0]
    assert "net.len > 22" in f1
    assert "bgp_next_hop = 185.1.0.10 || bgp_next_hop = 185.1.0.11" in f1
    assert "bgp_path.first != 10001" not in f1
    f3 = text.split("filter rs_in_c10003_185_1_0_12\n", 1)[1].split("\n}\n", 1)[0]
    assert "net.len > 24" in f3 and "!(bgp_next_hop = 185.1.0.12)" in f3
    assert "bgp_path.first != 10003" in f3


def test_irr_sets_rendered_with_max_length():
    cfg = config([member(1, 10001, as_set="AS-ONE"), member(2, 10002)])
    irr = IrrData({"AS-ONE": IrrEntry(asns=(10001, 10050),
                                      prefixes4=(IrrPrefix("31.0.0.0/16", 24),),
                                      prefixes6=())})
    text = render_bird(cfg, load_bogons(), irr)
    assert "define IRR_AS_ONE_ASNS = [ 10001, 10050 ];" in text
    assert "define IRR_AS_ONE_P4 = [ 31.0.0.0/16{16,24} ];" in text
    assert "define IRR_AS_ONE_P4_BH = [ 31.0.0.0/16+ ];" in text
    # No IPv6 data: every IPv6 route of the member fails the prefix check.
    f6 = text.split("filter rs_in_c10001_2001_7f8_ffff__a\n", 1)[1].split("\n}\n", 1)[0]
    assert "!(false)" in f6
    # Member 2 has no IRR data: routes are tagged "irr unknown", not refused.
    f2 = text.split("filter rs_in_c10002_185_1_0_11\n", 1)[1].split("\n}\n", 1)[0]
    assert "rs_info(6);" in f2


def test_password_with_quote_is_refused():
    # validation refuses it now (the render keeps its own guard as a second line)
    with pytest.raises(ValueError, match="md5_password"):
        render_bird(config([member(1, 10001, md5_password='ab"cd')]), load_bogons())


def test_bogon_file_is_checked():
    with pytest.raises(ValueError):
        parse_bogons("prefixes_ipv4: [10.0.0.0/33]\nprefixes_ipv6: []\n"
                     "ipv6_global_unicast: 2000::/3\nasns: []\n")
    b = load_bogons()
    assert "192.0.2.0/24" in b.prefixes4 and "2001:db8::/32" in b.prefixes6
    assert any(r.first == 23456 for r in b.asns)


def test_concern_reads_the_irr_cache_from_the_state_dir(tmp_path):
    import shutil
    from pathlib import Path

    from appliance.route_server.concern import IRR_CACHE, RouteServerConcern
    src = Path(__file__).resolve().parents[1] / "fixtures" / "bird" / "irr" / "irr-cache.json"
    (tmp_path / IRR_CACHE).parent.mkdir(parents=True)
    shutil.copy(src, tmp_path / IRR_CACHE)
    cfg = config([member(1, 10001, as_set="AS-M1"), member(2, 10002)])
    f = bird_conf(RouteServerConcern.from_state(tmp_path).render(cfg))
    assert f.path == "bird/bird.conf" and f.mode == 0o640
    assert b"define IRR_AS_M1_P4 = [ 31.1.0.0/16{16,24} ];" in f.content
    assert b"IRR AS-M1, fetched 2026-11-23T00:00:00Z" in f.content
    empty = bird_conf(RouteServerConcern.from_state(tmp_path / "none").render(cfg))
    assert b"IRR_AS_M1_P4" not in empty.content


def test_bfd_and_gtsm_render_and_parse(tool, tmp_path):
    plain = render_bird(config([member(1, 10001), member(2, 10002)]), load_bogons())
    assert "bfd" not in plain and "ttl security" not in plain
    text = render_bird(config([member(1, 10001, bfd=True, ttl_security=True),
                               member(2, 10002, ttl_security=True)]), load_bogons())
    assert "protocol bfd {}" in text
    assert text.count("bfd on;") == 2 and text.count("ttl security on;") == 4
    res = _bird_parse(tool("bird", "bird2"), text, tmp_path)
    assert res.returncode == 0, res.stderr


def test_adding_irr_data_leaves_other_members_filters_alone():
    one = IrrEntry(asns=(10001,), prefixes4=(IrrPrefix("31.1.0.0/16", 24),))
    cfg = config([member(1, 10001, as_set="AS-ZZZ"), member(2, 10002, as_set="AS-AAA")])
    before = render_bird(cfg, load_bogons(), IrrData({"AS-ZZZ": one}))
    after = render_bird(cfg, load_bogons(), IrrData({"AS-ZZZ": one, "AS-AAA": one}))

    def filt(text: str) -> str:
        return text.split("filter rs_in_c10001_185_1_0_10\n", 1)[1].split("\n}\n", 1)[0]
    assert filt(before) == filt(after)
    assert "IRR_AS_ZZZ_P4" in filt(after)


def test_extended_next_hop_needs_an_ipv6_address():
    with pytest.raises(ValueError, match="extended_next_hop carries IPv4 routes"):
        config([member(1, 10001, ipv6=[], extended_next_hop=True)])


def test_extended_next_hop_adds_an_ipv4_channel_checked_against_the_ipv6_address():
    text = render_bird(config([member(1, 10001, extended_next_hop=True)]), load_bogons())
    v6 = session_name(10001, "2001:7f8:ffff::a")
    assert f"ipv4 table t_{v6}_v4;" in text and f"import filter rs_in_{v6}_v4;" in text
    assert text.count("extended next hop on;") == 1
    enh_filter = text.split(f"filter rs_in_{v6}_v4")[1].split("\n}\n")[0]
    assert "bgp_next_hop = 2001:7f8:ffff::a" in enh_filter


def test_blackhole_address_must_be_on_the_peering_lan():
    cfg = config([member(1, 10001)], blackhole_ipv4="192.0.2.66")
    with pytest.raises(ValueError, match=r"route_server.blackhole_ipv4 192.0.2.66 is not on"):
        render_bird(cfg, load_bogons())


def test_member_blackhole_community_standard_or_large():
    cfg = config([member(1, 10001, blackhole_community="10001:666"),
                  member(2, 10002, blackhole_community="4200000002:666:0")])
    text = render_bird(cfg, load_bogons())
    assert "bgp_community.add((10001, 666));" in text
    assert "bgp_large_community.add((4200000002, 666, 0));" in text
    with pytest.raises(ValueError, match="blackhole_community 70000:666"):
        config([member(1, 10001, blackhole_community="70000:666")])
