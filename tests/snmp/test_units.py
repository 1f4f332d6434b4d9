"""Pure parts of the SNMP agent: settings, object tree, ifIndex map, render, concern."""

from __future__ import annotations

import json
import os

import pytest
from pysnmp.proto import rfc1902

from appliance.pipeline.concern import VerifyError
from appliance.snmp.concern import SnmpConcern
from appliance.snmp.ifindex import IfIndexMap
from appliance.snmp.mib_host import storage_rows
from appliance.snmp.oidstore import ObjectTree, Section
from appliance.snmp.paths import PID_FILE
from appliance.snmp.render import AGENT_FILE, agent_config, render_agent_config
from appliance.snmp.settings import SettingsError, parse_settings
from appliance.snmp.status import running_agent_pid
from tests.snmp.snmplab import lab_config


def _settings(**over) -> dict:
    base = {"version": 1, "enabled": True, "listen": {"addresses": ["127.0.0.1"], "port": 161},
            "communities": [{"community": "public-ro", "allowed_networks": ["10.0.0.0/8"]}],
            "users": [{"name": "u", "auth_protocol": "SHA-256", "auth_password": "12345678",
                       "priv_protocol": "AES-128", "priv_password": "abcdefgh"}],
            "interfaces": [{"name": "eth0", "alias": "m", "role": "management"}]}
    base.update(over)
    return base


def test_settings_accepts_a_good_file():
    s = parse_settings(_settings())
    assert s.communities[0].allows("10.1.2.3")
    assert not s.communities[0].allows("192.0.2.1")
    assert s.communities[0].allows("::ffff:10.1.2.3")  # v4-mapped source on a v6 socket
    assert s.users[0].auth_protocol == "SHA-256"


@pytest.mark.parametrize(("change", "field"), [
    ({"users": [{"name": "u", "auth_protocol": "MD5", "auth_password": "12345678",
                 "priv_protocol": "AES-128", "priv_password": "abcdefgh"}]},
     "users[0].auth_protocol"),
    ({"users": [{"name": "u", "auth_protocol": "SHA-256", "auth_password": "short",
                 "priv_protocol": "AES-128", "priv_password": "abcdefgh"}]},
     "users[0].auth_password"),
    ({"communities": [{"community": "public-ro", "allowed_networks": []}]},
     "communities[0].allowed_networks"),
    ({"communities": [{"community": "public-ro", "allowed_networks": ["nonsense"]}]},
     "communities[0].allowed_networks"),
    ({"listen": {"addresses": ["not-an-ip"], "port": 161}}, "listen.addresses"),
    ({"listen": {"port": 0}}, "listen.port"),
    ({"interfaces": [{"name": "a", "role": "member"}, {"name": "a", "role": "member"}]},
     "interfaces"),
    ({"version": 2}, "version"),
])
def test_settings_errors_name_the_field(change, field):
    with pytest.raises(SettingsError) as exc:
        parse_settings(_settings(**change))
    assert field in str(exc.value)


def _section(root, oids, ttl=5.0, calls=None):
    def collect():
        if calls is not None:
            calls.append(1)
        return [((*root, *o), rfc1902.Integer32(n)) for n, o in enumerate(oids)]
    return Section(root, collect, ttl=ttl)


def test_tree_get_and_next_across_sections():
    a = _section((1, 3, 6, 1, 2, 1, 1), [(1, 0), (5, 0)])
    b = _section((1, 3, 6, 1, 2, 1, 2), [(2, 1, 1, 1), (2, 1, 1, 2), (1, 0)])
    tree = ObjectTree([b, a])
    assert tree.get((1, 3, 6, 1, 2, 1, 1, 5, 0))[0] == "ok"
    assert tree.get((1, 3, 6, 1, 2, 1, 1, 6, 0))[0] == "noSuchInstance"
    assert tree.get((1, 3, 6, 1, 2, 1, 9))[0] == "noSuchObject"
    walk, oid = [], (1,)
    while (row := tree.next(oid)) is not None:
        walk.append(row[0])
        oid = row[0]
    assert walk == sorted(walk) and len(walk) == 5
    assert walk[0] == (1, 3, 6, 1, 2, 1, 1, 1, 0)
    assert walk[2] == (1, 3, 6, 1, 2, 1, 2, 1, 0)


def test_section_orders_and_finds_oids_as_tuples_do():
    # stored packed below the root: the order must stay the tuples' (a prefix first, 128 and
    # 2**31 after 2, the bound of RFC 2578 last)
    subs = [(2,), (2, 0), (2, 1, 5), (3,), (128,), (2 ** 31,), (2 ** 32 - 1, 7)]
    root = (1, 3, 6, 1, 4, 1)
    sec = _section(root, list(reversed(subs)))
    sec.refresh()
    walk, oid = [], (1, 3)
    while (row := sec.next_after(oid)) is not None:
        walk.append(row[0])
        oid = row[0]
    assert walk == sorted((*root, *s) for s in subs)
    assert sec.get((*root, 2, 1, 5)) is not None
    assert sec.get((*root, 2, 1)) is None
    assert sec.get((1, 3, 6, 1, 4, 2, 2)) is None  # outside the section
    assert sec.get((*root, 2 ** 32)) is None  # beyond the bound: nothing there
    # GETNEXT from before, inside, between, beyond the bound and after the section
    assert sec.next_after((1, 3, 6, 1, 4))[0] == (*root, 2)
    assert sec.next_after((*root, 2, 0, 9))[0] == (*root, 2, 1, 5)
    assert sec.next_after((*root, 2, 2 ** 40))[0] == (*root, 3)
    assert sec.next_after((*root, 2 ** 40)) is None
    assert sec.next_after((1, 3, 6, 1, 4, 2)) is None


def test_tree_rejects_overlapping_sections():
    with pytest.raises(ValueError, match="overlap"):
        ObjectTree([_section((1, 3, 6), []), _section((1, 3, 6, 1), [])])


def test_snapshot_is_reused_within_ttl():
    calls: list[int] = []
    tree = ObjectTree([_section((1, 3, 6, 1), [(1,), (2,), (3,)], ttl=3600, calls=calls)])
    oid = (1,)
    while (row := tree.next(oid)) is not None:
        oid = row[0]
    assert len(calls) == 1  # one collection for the whole walk
    tree.invalidate()
    tree.get((1, 3, 6, 1, 1))
    assert len(calls) == 2


def test_ifindex_is_stable_and_never_reused(tmp_path):
    path = tmp_path / "ifindex.json"
    m = IfIndexMap(path)
    assert m.assign(["mgmt0", "br-ixp", "ixp1"]) == {"mgmt0": 1, "br-ixp": 2, "ixp1": 3}
    again = IfIndexMap(path)
    assert again.index_of("ixp1") == 3
    assert again.index_of("ixp9") == 4
    # A removed port keeps its number: a new port never inherits an old graph.
    assert IfIndexMap(path).assign(["mgmt0", "ixp7"])["ixp7"] == 5


def test_damaged_ifindex_file_starts_afresh(tmp_path):
    path = tmp_path / "ifindex.json"
    path.write_text("{not json")
    assert IfIndexMap(path).index_of("eth0") == 1


def test_render_is_pure_and_complete():
    cfg = lab_config()
    assert render_agent_config(cfg) == render_agent_config(lab_config())
    data = agent_config(cfg)
    names = [i["name"] for i in data["interfaces"]]
    assert names[:2] == ["mgmt0", "br-ixp"]
    assert names[2:] == ["ixp1", "ixp2", "ixp3", "ixp4", "ixp5"]
    assert data["interfaces"][2]["alias"] == "AS64496 Island Telecom"
    assert data["system"] == {"name": "rs1.eiix.example.net", "contact": "noc@eiix.example.net",
                              "location": "Example Town exchange, rack 1"}
    assert data["bgp"] == {"local_as": 64511, "router_id": "203.0.113.1"}
    assert data["listen"]["addresses"] == []  # DHCP: the agent binds to the NIC instead
    assert parse_settings(json.loads(render_agent_config(cfg))).enabled


def test_concern_renders_secret_file_and_verifies(tmp_path):
    concern = SnmpConcern()
    (f,) = concern.render(lab_config())
    assert f.path == AGENT_FILE and f.mode == 0o640 and f.group == "ixp-snmp"
    (tmp_path / "snmp").mkdir()
    (tmp_path / AGENT_FILE).write_bytes(f.content)
    concern.verify(lab_config(), tmp_path)
    (tmp_path / AGENT_FILE).write_text('{"version": 1, "listen": {"port": 0}}')
    with pytest.raises(VerifyError, match=r"listen\.port"):
        concern.verify(lab_config(), tmp_path)


def test_stale_pid_file_never_names_a_stranger(tmp_path):
    (tmp_path / PID_FILE).parent.mkdir(parents=True)
    (tmp_path / PID_FILE).write_text(f"{os.getpid()}\n")  # pytest, not an agent
    assert running_agent_pid(tmp_path) is None
    (tmp_path / PID_FILE).write_text("999999999\n")
    assert running_agent_pid(tmp_path) is None


def test_storage_sizes_fit_integer32():
    for _index, _kind, _descr, unit, size, used in storage_rows():
        assert 0 <= used <= size < 2**31 and unit > 0


def test_a_snapshot_answers_as_a_sorted_list_would():
    """The packed snapshot (two byte strings and offsets, issue 14) gives the same GET and
    GETNEXT answers as a plain sorted list, for a walk, for jumps and with a repeated OID."""
    rows = [((1, 3, 6, 1, 2, 1, 2, 2, 1, col, i), rfc1902.Integer32(col * 1000 + i))
            for i in (1, 2, 10, 300, 70000) for col in (1, 2, 10)]
    rows.append(((1, 3, 6, 1, 2, 1, 2, 2, 1, 2, 10), rfc1902.Integer32(-1)))  # repeated
    section = Section((1, 3, 6, 1, 2, 1), lambda: list(reversed(rows)), ttl=1e9)
    section.refresh()
    ordered = sorted({oid for oid, _ in rows})
    assert len(section) == len(rows)
    # a walk from the root visits every OID once, in order
    seen, oid = [], (1, 3, 6, 1, 2, 1)
    while (row := section.next_after(oid)) is not None:
        seen.append(row[0])
        oid = row[0]
    assert seen == ordered
    # jumps (no walk hint), an exact GET, and a miss
    assert section.next_after((1, 3, 6, 1, 2, 1, 2, 2, 1, 2, 11))[0] == \
        (1, 3, 6, 1, 2, 1, 2, 2, 1, 2, 300)
    assert section.next_after((1, 3, 6, 1, 2, 1, 2, 2, 1, 10, 70000)) is None
    assert int(section.get((1, 3, 6, 1, 2, 1, 2, 2, 1, 10, 300))) == 10300
    assert section.get((1, 3, 6, 1, 2, 1, 2, 2, 1, 10, 301)) is None
