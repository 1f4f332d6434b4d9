"""The pure parts: desired state and the hygiene ruleset text (no root, no I/O)."""

from __future__ import annotations

import re

import bridgelab as bl
import pytest

from appliance.bridge.concern import NFT_FILE, BridgeConcern
from appliance.bridge.desired import bridge_mac, desired_state, lan_addresses
from appliance.bridge.nft import check_file
from appliance.bridge.render import (
    REASONS,
    RunningObject,
    RunningTable,
    nft_token,
    port_rules,
    render_hygiene,
)
from appliance.bridge.status import parse_comment
from appliance.config.loader import config_from_data


def _cfg(*, quarantine: bool = False):
    return bl.config([bl.member_data(1), bl.member_data(2, quarantine=quarantine)])


def _set(text: str, name: str) -> str:
    """The declaration of set ``name`` in ``text``."""
    body = text[text.index(f"\tset {name} {{"):]
    return body[:body.index("\n\t}") + 3]


def test_render_is_pure_and_replaces_only_its_own_table():
    cfg = _cfg(quarantine=True)
    [f] = BridgeConcern().render(cfg)
    assert f.path == NFT_FILE
    assert f.content == BridgeConcern().render(cfg)[0].content  # same input, same bytes
    text = f.content.decode()
    lines = [x for x in text.splitlines() if x and not x.startswith("#")]
    assert lines[:3] == ["table bridge ixp_hygiene", "delete table bridge ixp_hygiene",
                         "table bridge ixp_hygiene {"]
    assert "flush ruleset" not in text
    tables = re.findall(r"^(?:delete )?table (\S+ \S+)", text, re.M)
    assert tables == ["bridge ixp_hygiene"] * 3  # nothing but our table


def test_every_port_has_a_named_counter_per_reason_and_its_own_macs():
    text = render_hygiene(_cfg())
    for port, mac in (("ixp1", bl.member_mac(1)), ("ixp2", bl.member_mac(2))):
        for reason in REASONS:
            declared = f"counter {port}/{reason} {{ comment \"port={port} reason={reason}\" }}"
            assert (declared in text) is (not reason.startswith("quarantine")), reason
        assert f'\t\t\t"{port}" . {mac}' in _set(text, "port_macs")
    assert 'iifname . ether saddr != @port_macs counter name "ixp1/src_mac" drop' in text
    assert 'iifname vmap { "ixp1" : jump port_ixp1, "ixp2" : jump port_ixp2 }' in text
    # No quarantine rule without a quarantined member; the forward hook only counts the matrix
    assert "quarantine" not in text
    forward = text[text.index("chain forward {"):]
    forward = forward[:forward.index("\n\t}")]
    assert "ether type ip add @pairs4 { ether saddr . ether daddr }" in forward
    assert "ether type ip6 add @pairs6 { ether saddr . ether daddr }" in forward
    assert "vmap" not in forward
    assert "set pairs4 { type ether_addr . ether_addr; size 65536; flags dynamic; counter; }" \
        in text
    cfg = _cfg().model_dump(mode="json", exclude_defaults=True)
    cfg["peering_lan"]["traffic_matrix"] = False
    off = render_hygiene(config_from_data(cfg))
    assert "hook forward" not in off and "pairs4" not in off, "matrix off: no forward hook"


def test_quarantine_allows_arp_nd_and_bgp_to_the_route_server_only():
    text = render_hygiene(_cfg(quarantine=True))
    chain = text[text.index("chain port_ixp2 {"):]
    chain = chain[:chain.index("\n\t}")]
    assert "ether type arp accept" in chain
    assert "icmpv6 type @nd_types accept" in chain
    assert f"ip daddr {bl.RS4} tcp dport 179 accept" in chain
    assert f"ip6 daddr {bl.RS6} tcp sport 179 accept" in chain
    assert chain.rstrip().endswith('counter name "ixp2/quarantine" drop')
    assert 'oifname vmap { "ixp2" : jump to_ixp2 }' in text
    assert "chain port_ixp1" in text and "ixp1/quarantine" not in text
    # The fast path for unicast TCP/UDP skips the quarantine rules, so it is not there.
    assert "accept" not in chain.split("# quarantine")[0]
    ixp1 = text[text.index("chain port_ixp1 {"):text.index("chain port_ixp2 {")]
    assert "meta l4proto @bulk_protos th dport != @dhcp_ports accept" in ixp1


def test_storm_rate_is_a_parameter():
    text = render_hygiene(_cfg(), storm_pps=250, storm_burst=30)
    assert text.count("limit rate over 250/second burst 30 packets") == 4  # 2 ports x 2 kinds


def test_nft_tokens_are_valid_identifiers_and_unique():
    assert nft_token("ixp1") == "ixp1"
    assert nft_token("eth0.100") == "eth0.100"
    assert nft_token("3com") == "p3com"
    assert nft_token("a@b") == "a_b"
    cfg = bl.config([bl.member_data(1, port="a@b"), bl.member_data(2, port="a:b")])
    tokens = [pr.token for pr in port_rules(cfg)]
    assert tokens == ["a_b", "a_b_2"]


def test_counter_comments_parse_back():
    assert parse_comment("port=ixp1.100 reason=src_mac") == ("ixp1.100", "src_mac")
    assert parse_comment("something else") is None


def test_desired_state_and_stable_bridge_mac():
    cfg = _cfg()
    d = desired_state(cfg)
    assert d.bridge.name == "br-ixp" and d.bridge.mtu == 1500
    mac = bridge_mac(cfg)
    assert mac == d.bridge.address == bridge_mac(_cfg())
    first = int(mac[:2], 16)
    assert first & 0x02 and not first & 0x01  # locally administered, unicast
    assert d.fdb == {("ixp1", bl.member_mac(1)), ("ixp2", bl.member_mac(2))}
    assert d.neigh["203.0.113.12"] == bl.member_mac(2)
    assert d.neigh["2001:db8:eeee::11"] == bl.member_mac(1)
    assert d.addresses == {f"{bl.RS4}/24", f"{bl.RS6}/64"}


def test_service_addresses_on_the_lan_go_on_the_bridge_anycast_ones_do_not():
    data = {
        "lab": True,
        "identity": {"name": "T", "short_name": "T", "country": "FJ",
                     "contact_email": "noc@t.example.net"},
        "peering_lan": {"ipv4_prefix": bl.LAN4, "ipv6_prefix": bl.LAN6},
        "route_server": {"asn": 64511, "router_id": bl.RS4, "ipv4": bl.RS4},
        "services": {"resolver": {"enabled": True, "ipv4": ["203.0.113.53", "192.0.2.53"]},
                     "anycast": [{"prefix": "192.0.2.0/24"}]},
    }
    cfg = config_from_data(data)
    assert lan_addresses(cfg) == {f"{bl.RS4}/24", "203.0.113.53/24"}


def test_in_place_update_keeps_only_what_still_counts_the_same():
    # What the loaded table holds (as nft -j lists it): ixp1 and a departed ixp9, whose chain
    # and counter must go; ixp2's counter whose port/reason changed must be made afresh.
    running = RunningTable((
        RunningObject("chain", "prerouting", 1), RunningObject("chain", "port_ixp1", 2),
        RunningObject("chain", "port_ixp9", 3), RunningObject("chain", "forward", 4),
        RunningObject("counter", "ixp1/src_mac", 10, "port=ixp1 reason=src_mac"),
        RunningObject("counter", "ixp9/src_mac", 11, "port=ixp9 reason=src_mac"),
        RunningObject("counter", "ixp2/bpdu", 12, "port=other reason=bpdu"),
        RunningObject("set", "someone_elses", 20),
        RunningObject("set", "pairs4", 21),  # the matrix's: its elements keep counting
    ))
    cfg = _cfg()
    text = render_hygiene(cfg, running=running)
    assert text == render_hygiene(cfg, running=running)  # pure: same data, same text
    lines = [x.split("  #")[0] for x in text.splitlines() if x and not x.startswith("#")]
    head = lines[:lines.index("table bridge ixp_hygiene {")]
    assert head == ["table bridge ixp_hygiene", "flush table bridge ixp_hygiene",
                    "delete chain bridge ixp_hygiene handle 3",
                    "delete counter bridge ixp_hygiene handle 11",
                    "delete counter bridge ixp_hygiene handle 12",
                    "delete set bridge ixp_hygiene handle 20"]
    assert "delete table" not in text
    # The definition is the same as in the replacing file: only the head differs.
    plain = render_hygiene(cfg)
    assert text[text.index("table bridge ixp_hygiene {"):] == \
        plain[plain.index("table bridge ixp_hygiene {"):]
    # The installed file stays the replacing one (it does not depend on what is loaded).
    assert BridgeConcern().render(cfg)[0].content.decode() == plain


def test_in_place_update_refuses_objects_it_cannot_remove():
    running = RunningTable((RunningObject("flowtable", "ft", 1),))
    assert not running.updatable
    with pytest.raises(ValueError, match="replace it"):
        render_hygiene(_cfg(), running=running)


def test_no_chain_holds_an_anonymous_set():
    # One anonymous set per port and check made 1000 ports some 12 000 of them, and nft -c
    # some 52 s: what the chains look up is in named sets, declared once (in the table).
    vlan_member = bl.member_data(3)
    vlan_member["ports"] = [{"interface": "trunk0", "vlan": 101}]
    data = bl.member_data(1)
    data["macs"].append("02:00:5e:10:01:01")
    data["ipv4"].append("203.0.113.111")
    data["ipv6"].append("2001:db8:eeee::111")
    text = render_hygiene(bl.config([data, bl.member_data(2, quarantine=True), vlan_member]))
    chains = re.findall(r"^\tchain (\S+) \{\n(.*?)\n\t\}", text, re.M | re.S)
    assert {c for c, _ in chains} >= {"port_ixp1", "port_ixp2", "port_trunk0.101", "to_ixp2"}
    for chain, body in chains:
        if chain.startswith(("port_", "to_")):
            rules = [r for r in body.splitlines() if not r.strip().startswith("#")]
            assert not any("{" in r for r in rules), (chain, [r for r in rules if "{" in r])
    # Only the dispatch maps (one element per port) and the matrix's set updates stay inline.
    assert text.count("vmap {") == 3
    # Each port's MACs, ARP senders (with 0.0.0.0, the ARP probe's) and ND targets.
    macs, senders, targets = (_set(text, n) for n in ("port_macs", "arp_senders", "nd_targets"))
    assert "typeof iifname . ether saddr" in macs
    assert '"ixp1" . 02:00:5e:10:00:01,' in macs and '"ixp1" . 02:00:5e:10:01:01,' in macs
    assert '"trunk0.101" . 02:00:5e:10:00:03' in macs
    for port, addr in (("ixp1", "0.0.0.0"), ("ixp1", "203.0.113.11"), ("ixp1", "203.0.113.111"),
                       ("ixp2", "0.0.0.0"), ("trunk0.101", "203.0.113.13")):
        assert f'"{port}" . {addr}' in senders
    assert "typeof iifname . @th,64,128" in targets
    assert '"ixp1" . 0x20010db8eeee00000000000000000111' in targets
    assert "set tagged_types { type ether_type; elements = { 8021q, 8021ad }; }" in text
    # The sets are declared before any chain uses them.
    assert text.index("\tset nd_targets {") < text.index("\tchain ")


def test_a_port_without_ipv6_has_no_nd_target_so_every_global_advertisement_is_dropped():
    data = bl.member_data(1)
    data["ipv6"] = []
    text = render_hygiene(bl.config([data, bl.member_data(2)]))
    targets = _set(text, "nd_targets")
    assert '"ixp1" .' not in targets and '"ixp2" . 0x' in targets
    rule = ("icmpv6 type nd-neighbor-advert @th,64,16 & 0xffc0 != 0xfe80 "
            'iifname . @th,64,128 != @nd_targets counter name "ixp1/nd_spoof" drop')
    assert rule in text


def test_the_ruleset_passes_nft_check(tmp_path):
    path = tmp_path / "hygiene.nft"
    data = bl.member_data(1)
    data["ipv6"] = []
    path.write_text(render_hygiene(bl.config([data, bl.member_data(2, quarantine=True)])))
    check_file(path)  # raises NftError with nft's own message if refused
