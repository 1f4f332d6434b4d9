"""Every class of bad input is refused with a message naming the field."""

from __future__ import annotations

import copy

import pytest
import yaml

from appliance.config.errors import ConfigError
from appliance.config.generate import synthetic_config, synthetic_data
from appliance.config.loader import config_from_data, dump_config, load_config_text


@pytest.fixture
def base(example_text):
    return yaml.safe_load(example_text)


def issues_for(data) -> dict[str, str]:
    with pytest.raises(ConfigError) as exc:
        config_from_data(data)
    return {i.path: i.message for i in exc.value.issues}


def test_example_is_valid(example_text):
    cfg = load_config_text(example_text)
    assert len(cfg.members) == 5
    assert cfg.lab is True


def test_canonical_dump_round_trips(example_text):
    cfg = load_config_text(example_text)
    again = load_config_text(dump_config(cfg))
    assert again == cfg
    assert dump_config(again) == dump_config(cfg)


@pytest.mark.parametrize("count", [0, 10, 500, 2000])
def test_synthetic_configs_are_valid(count):
    cfg = synthetic_config(count)
    assert len(cfg.members) == count
    assert len({m.asn for m in cfg.members}) == count


def _set(data, path, value):
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return data


# (where to write, value, expected issue path, words the message must contain)
BAD = [
    (("members", 0, "asn"), 0, "members[0].asn", "AS 0 is never valid"),
    (("members", 0, "asn"), 23456, "members[0].asn", "AS_TRANS"),
    (("members", 0, "asn"), 65535, "members[0].asn", "reserved"),
    (("members", 0, "asn"), 4294967295, "members[0].asn", "reserved"),
    (("members", 0, "asn"), 4294967296, "members[0].asn", "outside the AS number range"),
    (("members", 0, "asn"), "ASX", "members[0].asn", "not an AS number"),
    (("members", 0, "asn"), 64511, "members[0].asn", "route server's own ASN"),
    (("members", 0, "ipv4"), ["198.51.100.7"], "members[0].ipv4[0]", "outside the peering LAN"),
    (("members", 0, "ipv4"), ["203.0.113.0"], "members[0].ipv4[0]", "network address"),
    (("members", 0, "ipv4"), ["203.0.113.255"], "members[0].ipv4[0]", "broadcast address"),
    (("members", 0, "ipv4"), ["203.0.113.1"], "members[0].ipv4[0]", "route server"),
    (("members", 0, "ipv4"), ["203.0.113.53"], "members[0].ipv4[0]", "service address"),
    (("members", 0, "ipv4"), ["203.0.113.11"], "members[1].ipv4[0]", "already used by"),
    (("members", 0, "ipv4"), ["2001:db8:eeee::99"], "members[0].ipv4[0]", "IPv6 address"),
    (("members", 0, "ipv6"), ["203.0.113.99"], "members[0].ipv6[0]", "IPv4 address"),
    (("members", 0, "ipv6"), ["2001:db8:eeee::"], "members[0].ipv6[0]", "network address"),
    (("members", 0, "macs"), ["02:00:5e:10:00:02"], "members[1].macs[0]", "already used"),
    (("members", 0, "macs"), ["01:00:5e:00:00:01"], "members[0].macs[0]", "multicast"),
    (("members", 0, "macs"), ["zz:00"], "members[0].macs[0]", "not a MAC address"),
    (("members", 0, "ports"), ["ixp2"], "members[1].ports[0]", "already given to"),
    (("members", 0, "ports"), ["eth0"], "members[0].ports[0].interface", "management"),
    (("members", 0, "ports"), ["br-ixp"], "members[0].ports[0].interface", "bridge"),
    (("members", 0, "ports"), ["this-name-is-too-long"], "members[0].ports[0].interface",
     "interface name"),
    (("members", 0, "max_prefix", "ipv4"), 0, "members[0].max_prefix.ipv4", "at least 1"),
    (("members", 0, "max_prefix", "ipv4"), 10**12, "members[0].max_prefix.ipv4", "at most"),
    (("members", 0, "max_prefix", "ipv6"), "many", "members[0].max_prefix.ipv6", "whole number"),
    (("members", 0, "noc_email"), "noc at example", "members[0].noc_email", "e-mail"),
    (("members", 0, "name"), "", "members[0].name", "at least 1"),
    (("members", 0, "name"), "bad\nname", "members[0].name", "control characters"),
    (("members", 0, "as_set"), "AS SET!", "members[0].as_set", "not an AS-SET"),
    (("members", 0, "colour"), "blue", "members[0].colour", "not a known setting"),
    (("members", 0, "md5_password"), 'pa"ss', "members[0].md5_password", "without spaces"),
    (("peering_lan", "ipv4_prefix"), "203.0.113.7/24", "peering_lan.ipv4_prefix",
     "host bits"),
    (("peering_lan", "ipv4_prefix"), "2001:db8::/64", "peering_lan.ipv4_prefix", "IPv6 prefix"),
    (("peering_lan", "ipv6_prefix"), "2001:db8:eeee::1/64", "peering_lan.ipv6_prefix",
     "host bits"),
    (("peering_lan", "mtu"), 100000, "peering_lan.mtu", "at most 9216"),
    (("route_server", "ipv4"), "198.51.100.1", "route_server.ipv4", "outside the peering LAN"),
    (("route_server", "router_id"), "0.0.0.0", "route_server.router_id", "cannot be a router id"),
    (("route_server", "asn"), 0, "route_server.asn", "never valid"),
    (("route_server", "policy"), {"ipv4_min_length": 25}, "route_server.policy.ipv4_min_length",
     "must not exceed"),
    (("identity", "country"), "Fiji", "identity.country", "two-letter"),
    (("identity", "contact_email"), "nobody", "identity.contact_email", "e-mail"),
    (("identity",), None, "identity", "section"),
    (("management", "timezone"), "Mars/Olympus", "management.timezone", "time zone"),
    (("management", "hostname"), "bad_host!", "management.hostname", "host name"),
    (("management", "ipv4"), "192.0.2.10", "management.ipv4", "prefix length"),
    (("management", "ipv4"), "203.0.113.200/24", "management.ipv4", "overlaps the peering LAN"),
    (("snmp",), {"enabled": True}, "snmp", "no community or user"),
    (("snmp",), {"communities": [{"community": "public", "allowed_networks": ["192.0.2.0/24"]}]},
     "snmp.communities[0].community", "guessable"),
    (("services", "resolver", "ipv4"), ["198.51.100.53"], "services.resolver.ipv4[0]",
     "outside the peering LAN"),
    (("admin_users",), [{"name": "root", "password_hash": "hunter2"}],
     "admin_users[0].password_hash", "argon2id"),
]


@pytest.mark.parametrize(("where", "value", "path", "words"), BAD,
                         ids=[f"{b[2]}={b[1]!r}"[:60] for b in BAD])
def test_bad_value_is_named(base, where, value, path, words):
    found = issues_for(_set(copy.deepcopy(base), list(where), value))
    assert path in found, f"expected an issue at {path}, got {found}"
    assert words.lower() in found[path].lower(), found[path]


def test_documentation_asns_need_lab(base):
    base["lab"] = False
    found = issues_for(base)
    assert "documentation" in found["members[0].asn"]
    assert "lab: true" in found["members[0].asn"]


def test_private_asn_refused_for_members_but_allowed_for_route_server():
    data = synthetic_data(3)
    data["members"][1]["asn"] = 64512
    found = issues_for(data)
    assert "private ASN" in found["members[1].asn"]
    assert "route_server.asn" not in found  # 65000 is private and fine for the route server


def test_all_problems_reported_at_once(base):
    base["members"][0]["asn"] = 0
    base["members"][1]["ipv4"] = ["198.51.100.1"]
    base["members"][2]["macs"] = ["02:00:5e:10:00:01"]
    found = issues_for(base)
    assert {"members[0].asn", "members[1].ipv4[0]", "members[2].macs[0]"} <= set(found)


def test_structural_errors_all_at_once(base):
    base["peering_lan"]["mtu"] = "big"
    base["identity"]["country"] = "fiji"
    base["members"][3]["macs"] = []
    found = issues_for(base)
    assert {"peering_lan.mtu", "identity.country", "members[3].macs"} <= set(found)


def test_missing_required_sections():
    found = issues_for({"identity": {"name": "X"}})
    assert "peering_lan" in found and "route_server" in found
    assert "required" in found["peering_lan"]
    assert "identity.short_name" in found


@pytest.mark.parametrize("text", [
    "", "- a\n- b\n", "just text", "42", "a: [unclosed", "a: &x 1\nb: *x\n",
    "\t- tab", "identity: !!python/object:os.system ls", "x: " + "[" * 200 + "]" * 200,
    "members:\n" + "  - asn: 1\n" * 3 + "bad: : :",
])
def test_garbage_text_gives_issue_not_exception(text):
    with pytest.raises(ConfigError) as exc:
        load_config_text(text)
    assert exc.value.issues and all(str(i) for i in exc.value.issues)


def test_alias_bomb_is_refused():
    bomb = "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n" \
           "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
    with pytest.raises(ConfigError) as exc:
        load_config_text(bomb)
    assert "aliases" in str(exc.value)


def test_ports_accept_shorthand_and_full_form(base):
    base["members"][0]["ports"] = [{"interface": "ixp1", "vlan": 100}]
    cfg = config_from_data(base)
    assert cfg.members[0].ports[0].vlan == 100
    assert cfg.members[1].ports[0].interface == "ixp2"


def test_asn_notations(base):
    base["members"][0]["asn"] = "AS64496"
    base["members"][1]["asn"] = "1.1"  # asdot for 65537, a documentation ASN
    cfg = config_from_data(base)
    assert cfg.members[0].asn == 64496
    assert cfg.members[1].asn == 65537


def test_member_policy_overrides_merge(base):
    base["members"][0]["policy"] = {"ipv4_max_length": 22, "rpki": "tag_only"}
    cfg = config_from_data(base)
    pol = cfg.effective_policy(cfg.members[0])
    assert pol.ipv4_max_length == 22 and pol.rpki == "tag_only"
    assert pol.ipv6_max_length == 48  # untouched fields follow the global policy
    assert cfg.effective_policy(cfg.members[1]).ipv4_max_length == 24
