"""A member on a VLAN port (issue 16 item 10): the member form's VLAN field, its checks next
to the field, the list and the member page saying ``ixp6 · VLAN 101``, the VLAN kept on
edit, the NIC picker offering a trunk for more VLAN ports only, and the API's POST."""

from __future__ import annotations

import re

import yaml

from appliance.config.errors import ConfigError
from appliance.config.loader import config_from_data, load_config_text
from appliance.config.revisions import RevisionStore
from appliance.web import create_app
from appliance.web.api import tokens
from appliance.web.members import port_choices, vlan_problem, with_vlan

from .conftest import ADMIN, csrf
from .test_admin_pages import NEW_MEMBER, _apply_pending

VLAN_MEMBER = {**NEW_MEMBER, "vlan": "101"}
SECOND = {"asn": "64502", "name": "Lagoon Net", "ports": "ixp6", "vlan": "102",
          "macs": "02:00:5e:10:00:07", "ipv4": "203.0.113.16", "ipv6": "2001:db8:eeee::16",
          "max_prefix.ipv4": "20", "max_prefix.ipv6": "10", "route_server": "on"}


def _save(client, url: str, form: dict[str, str]):
    page = client.get(url)
    return client.post(url, data={**form, "action": "save", "csrf_token": csrf(page.data)})


def _field_error(html: str, field: str) -> str:
    found = re.search(rf'<p class="error" id="f-{field}-err">([^<]*)</p>', html)
    assert found, f"no error next to the {field} field: {html[-2000:]}"
    return found.group(1)


def _committed_ports(state, asn: int) -> list:
    members = yaml.safe_load(RevisionStore(state).latest().config)["members"]
    ports = next(m for m in members if m["asn"] == asn)["ports"]
    return [p if isinstance(p, dict) else {"interface": p} for p in ports]


def test_add_list_show_and_edit_a_member_on_a_vlan_port(client, configured):
    resp = _save(client, "/members/new", VLAN_MEMBER)
    assert resp.status_code == 302, resp.data[-2000:]
    review = client.get("/changes/review").data.decode()
    assert "vlan: 101" in review, "the review shows the VLAN"
    assert _apply_pending(client)["outcome"]["ok"]
    assert _committed_ports(configured, 64501) == [{"interface": "ixp6", "vlan": 101}]

    listed = client.get("/members").data.decode()
    assert "<code>ixp6</code> · VLAN 101</td>" in listed
    card = client.get("/member/64501")
    assert card.status_code == 200
    assert "<code>ixp6</code> · VLAN 101" in card.data.decode()

    # the edit form shows the VLAN, and saving another change keeps it
    edit = client.get("/members/5/edit").data.decode()
    assert 'name="vlan" value="101"' in edit
    changed = {**VLAN_MEMBER, "name": "Coral Cloud Pacific"}
    assert _save(client, "/members/5/edit", changed).status_code == 302
    assert _apply_pending(client)["outcome"]["ok"]
    assert _committed_ports(configured, 64501) == [{"interface": "ixp6", "vlan": 101}]
    # clearing the field makes the port untagged again
    assert _save(client, "/members/5/edit", {**changed, "vlan": ""}).status_code == 302
    assert _apply_pending(client)["outcome"]["ok"]
    assert _committed_ports(configured, 64501) == [{"interface": "ixp6"}]


def test_a_bad_vlan_id_is_refused_next_to_the_field(client, configured):
    for typed in ("5000", "0", "abc", "-3", "10.1"):
        resp = _save(client, "/members/new", {**VLAN_MEMBER, "vlan": typed})
        assert resp.status_code == 400, typed
        html = resp.data.decode()
        said = _field_error(html, "vlan")
        assert said.startswith("VLAN: give a VLAN id from 1 to 4094") and typed in said, said
        assert 'aria-invalid="true" aria-describedby="f-vlan-err"' in html
        assert 'value="Coral Cloud"' in html, "what was typed stays"
    assert RevisionStore(configured).latest().id == 1, "nothing was changed"
    assert vlan_problem("") is None and vlan_problem(" 4094 ") is None


def test_a_trunk_takes_more_vlans_but_no_untagged_port_and_the_reverse(client, configured):
    assert _save(client, "/members/new", VLAN_MEMBER).status_code == 302
    assert _apply_pending(client)["outcome"]["ok"]
    # another VLAN on the same NIC: fine
    assert _save(client, "/members/new", SECOND).status_code == 302
    client.get("/changes/review")
    # the same VLAN again: the config's own rule, shown on the port field
    same = _save(client, "/members/new", {**SECOND, "vlan": "101"})
    assert same.status_code == 400
    assert "Port ixp6 VLAN 101 is already given to members[5]" in \
        _field_error(same.data.decode(), "ports")
    # untagged on the trunk
    untagged = _save(client, "/members/new", {**SECOND, "vlan": ""})
    assert untagged.status_code == 400
    assert _field_error(untagged.data.decode(), "ports").startswith(
        "ixp6 carries VLAN ports of AS64501 Coral Cloud, so it cannot also be an untagged port")
    # a VLAN port on another member's untagged NIC (ixp1 is AS64496's)
    reverse = _save(client, "/members/new", {**SECOND, "ports": "ixp1"})
    assert reverse.status_code == 400
    assert _field_error(reverse.data.decode(), "ports").startswith(
        "ixp1 is the untagged port of AS64496 Island Telecom, so it cannot carry VLAN ports")


def test_the_picker_offers_a_trunk_only_for_vlan_ports(example_text):
    data = yaml.safe_load(example_text)
    data["members"][0]["ports"] = [{"interface": "ixp1", "vlan": 101}]
    cfg = config_from_data(data)
    rows = [{"name": "ixp1", "kind": "veth", "role": "member", "used_by": "AS64496 x",
             "carrier": True},
            {"name": "ixp2", "kind": "veth", "role": "member", "used_by": "AS64497 y"},
            {"name": "ixp6", "kind": "veth", "role": "free", "carrier": True}]
    untagged = port_choices(rows, cfg, lab=False, own="", current="")
    assert [v for v, _ in untagged] == ["ixp6", "ixp1"], "free NICs first, the trunk after"
    assert "ixp1 — carries VLAN ports (AS64496 x): only with a VLAN" in untagged[1][1]
    tagged = port_choices(rows, cfg, lab=False, own="", current="", vlan=True)
    assert [v for v, _ in tagged] == ["ixp1", "ixp6"], "with a VLAN, the trunk first"
    # ixp2 is an untagged member port: never offered, with or without a VLAN
    assert "ixp2" not in {v for v, _ in untagged + tagged}
    assert with_vlan({"ports": ["ixp1"], "vlan": "7"}) == {
        "ports": [{"interface": "ixp1", "vlan": 7}]}


def test_the_config_refuses_a_nic_both_trunk_and_untagged(example_text):
    data = yaml.safe_load(example_text)
    data["members"][1]["ports"] = [{"interface": "ixp1", "vlan": 101}]
    try:
        config_from_data(data)
    except ConfigError as exc:
        said = {i.path: i.message for i in exc.issues}
    else:
        raise AssertionError("a NIC both untagged and a trunk was accepted")
    assert said["members[0].ports[0].interface"].startswith(
        "ixp1 carries VLAN ports of AS64497")
    assert said["members[1].ports[0].interface"].startswith(
        "ixp1 is the untagged port of AS64496")
    # two VLANs on one NIC are fine
    data["members"][0]["ports"] = [{"interface": "ixp1", "vlan": 100}]
    assert load_config_text(yaml.safe_dump(data)).members[1].ports[0].vlan == 101


def test_api_adds_a_member_on_a_vlan_port(configured):
    secret = tokens.create(configured, "test", ADMIN)
    c = create_app(configured).test_client()
    h = {"Authorization": f"Bearer {secret}"}
    member = {"asn": 64501, "name": "Coral Cloud", "macs": ["02:00:5e:10:00:06"],
              "ports": [{"interface": "ixp6", "vlan": 101}], "ipv4": ["203.0.113.15"]}
    bad = c.post("/api/v1/members", json={**member, "ports": [{"interface": "ixp6",
                                                                 "vlan": 5000}]}, headers=h)
    assert bad.status_code == 422
    assert bad.get_json()["issues"][0]["path"] == "members[5].ports[0].vlan"
    done = c.post("/api/v1/members", json=member, headers=h)
    assert done.status_code == 200, done.get_json()
    got = c.get("/api/v1/members/64501", headers=h).get_json()[0]
    assert got["ports"] == [{"interface": "ixp6", "vlan": 101}]


def test_a_vlan_port_is_watched_under_its_own_device_name(example_text):
    # the collector samples, the alerts name and the status shows <nic>.<vid>, the device
    # whose counters and drops are the member's (the trunk carries everyone's VLANs)
    from appliance.alerts.render import alert_settings
    from appliance.monitor.targets import collector_targets

    data = yaml.safe_load(example_text)
    data["members"][0]["ports"] = [{"interface": "trunk0", "vlan": 101}]
    data["members"][1]["ports"] = [{"interface": "trunk0", "vlan": 102}]
    cfg = config_from_data(data)
    assert [p.ifname for p in cfg.members[0].ports] == ["trunk0.101"]
    assert collector_targets(cfg)["ports"][:2] == ["ixp3", "ixp4"]
    assert {"trunk0.101", "trunk0.102"} <= set(collector_targets(cfg)["ports"])
    assert "trunk0" not in collector_targets(cfg)["ports"]
    ports = alert_settings(cfg)["ports"]
    assert ports["trunk0.101"].startswith("AS64496") and ports["trunk0.102"].startswith("AS64497")
