"""The management-plane ruleset as rendered from the model: pure, structural checks, and the
real ``nft -c`` on every variant (in a private namespace: nothing is loaded anywhere)."""

from __future__ import annotations

import copy
import ipaddress
import re

import fwlab as fl
import pytest
import yaml

from appliance.bridge.nft import check_file
from appliance.config.loader import config_from_data, load_config_text
from appliance.firewall.concern import NFT_FILE, FirewallConcern
from appliance.firewall.render import (
    REASONS,
    bgp_peers,
    dns_clients,
    render_firewall,
    ruleset_digest,
)
from appliance.firewall.safety import LockoutRefused, check_host_interface
from appliance.platform.nft import RunningObject, RunningTable
from appliance.resolver.render import access_list


def _cfg(**kw: object):
    return config_from_data(fl.config_data(**kw))  # type: ignore[arg-type]


def _chain(text: str, name: str) -> list[str]:
    """The rule lines of chain ``name`` (comments dropped)."""
    m = re.search(rf"\n\tchain {name} {{\n(.*?)\n\t}}", text, re.S)
    assert m, f"chain {name} missing"
    return [ln.strip() for ln in m.group(1).splitlines() if not ln.strip().startswith("#")]


def _variants(example_text: str) -> dict[str, dict]:
    base = fl.config_data()
    out = {"example": yaml.safe_load(example_text), "topology": base,
           "allowed": fl.config_data(allowed=["10.0.0.0/8", "10.1.0.0/16", "2001:db8:99::/48"])}
    v = copy.deepcopy(base)
    v["peering_lan"].pop("ipv6_prefix")
    for m in v["members"]:
        m.pop("ipv6")
    v["route_server"].pop("ipv6")
    v["services"]["resolver"]["ipv6"] = []
    v["services"]["resolver"]["allowed_networks"] = ["198.51.100.0/24"]
    out["ipv4 only"] = v
    v = copy.deepcopy(base)
    v["members"] = []
    v["services"] = {}
    v["snmp"] = {"enabled": False}
    out["bare"] = v
    v = copy.deepcopy(base)
    v["snmp"]["port"] = 1161
    v["services"]["anycast"] = [{"prefix": "192.0.2.128/25"}]
    v["services"]["resolver"]["ipv4"] = [fl.RES4, "192.0.2.153"]
    v["members"][0]["bfd"] = True
    out["anycast, snmp port, bfd"] = v
    return out


def test_same_config_same_bytes_and_the_digest_covers_the_rules(example_text):
    cfg = load_config_text(example_text)
    text = render_firewall(cfg)
    assert text == render_firewall(load_config_text(example_text))
    digest = ruleset_digest(text)
    assert digest is not None and len(digest) == 64
    data = yaml.safe_load(example_text)
    data["members"][0]["ipv4"] = ["203.0.113.20"]
    other = render_firewall(config_from_data(data))
    assert ruleset_digest(other) != digest


def test_every_variant_passes_nft_check(example_text, tmp_path):
    for name, data in _variants(example_text).items():
        path = tmp_path / f"{name.replace(' ', '_')}.nft"
        path.write_text(render_firewall(config_from_data(data)))
        check_file(path)  # raises with nft's own message if refused


def test_nft_check_catches_a_broken_ruleset(tmp_path):
    from appliance.bridge.nft import NftError

    path = tmp_path / "broken.nft"
    path.write_text(render_firewall(_cfg()).replace("tcp dport 179", "tcp dport 179 bogus"))
    with pytest.raises(NftError, match="bogus"):
        check_file(path)


def test_bgp_only_from_members_with_route_server_sessions():
    cfg = _cfg()
    assert bgp_peers(cfg) == ([fl.M1_4], [fl.M1_6])
    text = render_firewall(cfg)
    assert f"set bgp_peers4 {{ type ipv4_addr; elements = {{ {fl.M1_4} }} }}" in text
    lan = _chain(text, "lan")
    assert lan[:3] == ["ip saddr @bgp_peers4 tcp dport 179 accept",
                       "ip6 saddr @bgp_peers6 tcp dport 179 accept",
                       'tcp dport 179 counter name "bgp_source" drop']


def test_bfd_is_opened_for_members_only_when_a_session_runs_it():
    assert "3784" not in render_firewall(_cfg())
    data = fl.config_data()
    data["members"][0]["bfd"] = True
    lan = _chain(render_firewall(config_from_data(data)), "lan")
    assert "ip saddr @bgp_peers4 udp dport { 3784, 3785 } accept" in lan
    assert 'udp dport { 3784, 3785 } counter name "bgp_source" drop' in lan


def test_dns_clients_are_exactly_what_unbound_allows():
    cfg = _cfg(allowed=["198.18.0.0/24"])
    v4, v6 = dns_clients(cfg)
    allowed = [ipaddress.ip_network(a.network) for a in access_list(cfg) if a.action == "allow"]
    for net in allowed:
        ours = v4 if net.version == 4 else v6
        assert any(net.subnet_of(ipaddress.ip_network(n)) for n in ours), net  # type: ignore[arg-type]
    assert "198.18.0.0/24" in v4 and "198.51.100.0/24" in v4 and "203.0.113.0/24" in v4
    assert "0.0.0.0/0" not in v4


def test_no_dns_rules_when_the_resolver_is_off():
    data = fl.config_data()
    data["services"] = {}
    text = render_firewall(config_from_data(data))
    assert "chain dns" not in text and "th dport 53" not in text


def test_the_peering_lan_never_accepts_management_services():
    for kw in ({}, {"allowed": ["198.18.0.0/24"]}):
        lan = _chain(render_firewall(_cfg(**kw)), "lan")
        for rule in lan:
            if re.search(r"dport (\{ )?(22|80|443|161)\b", rule):
                assert rule.endswith("drop"), rule
        assert lan[-1] == 'counter name "lan_other" drop'


def test_management_nic_accepts_ssh_web_snmp_from_allowed_networks_only():
    open_mgmt = _chain(render_firewall(_cfg()), "mgmt")
    assert "tcp dport { 22, 80, 443 } accept" in open_mgmt
    assert "udp dport 161 accept" in open_mgmt
    limited = render_firewall(_cfg(allowed=["10.0.0.0/8", "10.1.0.0/16"]))
    mgmt = _chain(limited, "mgmt")
    assert "ip saddr @mgmt_allowed4 tcp dport { 22, 80, 443 } accept" in mgmt
    assert 'tcp dport { 22, 80, 443 } counter name "mgmt_source" drop' in mgmt
    assert not any(r.endswith("accept") and "dport { 22" in r and "@mgmt_allowed" not in r
                   for r in mgmt)
    # overlapping networks are merged (nft refuses overlapping intervals), recovery kept
    assert ("set mgmt_allowed4 { type ipv4_addr; flags interval; elements = { 10.0.0.0/8, "
            "192.168.254.0/24 } }") in limited
    assert "set mgmt_allowed6 { type ipv6_addr; flags interval; elements = { fe80::/10 } }" \
        in limited
    assert 'iifname vmap { "mgmt0" : jump mgmt, "br-ixp" : jump lan }' in limited


def test_every_drop_is_counted_and_the_policy_fails_open():
    text = render_firewall(_cfg(allowed=["198.18.0.0/24"]))
    declared = set(re.findall(r"^\tcounter (\S+) \{", text, re.M))
    assert declared == set(REASONS)
    used = set(re.findall(r'counter name "([^"]+)" drop', text))
    assert used <= declared
    rules = [ln for ln in text.splitlines() if not ln.strip().startswith("#")]
    assert all(" drop" not in ln or "counter name" in ln for ln in rules)
    input_chain = _chain(text, "input")
    assert input_chain[0] == "type filter hook input priority filter; policy accept;"
    assert input_chain[-1] == 'counter name "other_interface" drop'


def test_firewall_off_renders_nothing():
    concern = FirewallConcern()
    assert concern.render(_cfg(firewall=False)) == []
    assert [f.path for f in concern.render(_cfg())] == [NFT_FILE]


def test_a_missing_management_nic_is_refused_naming_the_field(tmp_path):
    sys_net = tmp_path / "net"
    sys_net.mkdir()
    (sys_net / "enp1s0").mkdir()
    recorded = tmp_path / "mgmt-interface"
    recorded.write_text("enp1s0\n")
    cfg = _cfg()  # management.interface: mgmt0, which this "box" does not have
    with pytest.raises(LockoutRefused, match=r"^management\.interface: interface mgmt0 does "
                       r"not exist.*set management\.interface to enp1s0"):
        check_host_interface(cfg, sys_net=sys_net, recorded=recorded)
    recorded.unlink()
    with pytest.raises(LockoutRefused, match=r"management\.firewall to false"):
        check_host_interface(cfg, sys_net=sys_net, recorded=recorded)
    (sys_net / "mgmt0").mkdir()
    check_host_interface(cfg, sys_net=sys_net, recorded=recorded)
    (sys_net / "mgmt0").rmdir()
    check_host_interface(_cfg(firewall=False), sys_net=sys_net, recorded=recorded)


def test_in_place_update_keeps_only_what_still_counts_the_same():
    # What the loaded table holds (as nft -j lists it): our chains, a dns chain this config
    # no longer has, a counter whose meaning changed, one for a retired reason, and sets,
    # which always go (re-declaring a set would merge the old elements with the new).
    running = RunningTable((
        RunningObject("counter", "invalid", 1, "reason=invalid"),
        RunningObject("counter", "lan_mgmt", 2, "reason=lan_mgmt"),
        RunningObject("counter", "lan_other", 3, "reason=something else"),
        RunningObject("counter", "retired", 4, "reason=retired"),
        RunningObject("set", "bgp_peers4", 5),
        RunningObject("chain", "input", 6), RunningObject("chain", "mgmt", 7),
        RunningObject("chain", "dns", 8), RunningObject("chain", "old", 9),
    ))
    data = fl.config_data()
    data["services"] = {}  # no resolver: no dns chain
    cfg = config_from_data(data)
    text = render_firewall(cfg, running)
    assert text == render_firewall(cfg, running)  # pure: same data, same text
    lines = [x.split("  #")[0] for x in text.splitlines() if x and not x.startswith("#")]
    head = lines[:lines.index("table inet ixp_mgmt {")]
    assert head == ["table inet ixp_mgmt", "flush table inet ixp_mgmt",
                    "delete counter inet ixp_mgmt handle 3",
                    "delete counter inet ixp_mgmt handle 4",
                    "delete set inet ixp_mgmt handle 5",
                    "delete chain inet ixp_mgmt handle 8",
                    "delete chain inet ixp_mgmt handle 9"]
    assert "delete table" not in text
    # The definition (and so the digest) is the installed file's: only the head differs.
    plain = render_firewall(cfg)
    assert text[text.index("table inet ixp_mgmt {"):] == \
        plain[plain.index("table inet ixp_mgmt {"):]
    assert ruleset_digest(text) == ruleset_digest(plain) is not None
    assert FirewallConcern().render(cfg)[0].content.decode() == plain


def test_the_digest_is_on_a_rule_not_on_the_table():
    # An in-place update replaces every rule but cannot change the table's comment.
    text = render_firewall(_cfg())
    assert _chain(text, "input")[1].startswith('iif lo accept comment "ixp-appliance sha256=')
    assert not re.search(r"^\tcomment ", text, re.M)


def test_in_place_update_refuses_what_it_cannot_change():
    with pytest.raises(ValueError, match="replace it"):
        render_firewall(_cfg(), RunningTable((RunningObject("flowtable", "ft", 1),)))
    # a table comment (older versions kept the digest there) cannot be removed in place
    with pytest.raises(ValueError, match="replace it"):
        render_firewall(_cfg(), RunningTable((), comment="ixp-appliance sha256=" + "0" * 64))
