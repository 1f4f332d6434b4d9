"""Choose, don't type: the member form offers free NICs (and in a lab a new lab port), suggests
the next free addresses, and shows a port the box refuses next to the port field."""

from __future__ import annotations

import shutil

import yaml

from appliance.config.loader import load_config_text
from appliance.config.revisions import RevisionStore
from appliance.lab.lab import LabMember, LabState
from appliance.web import members as members_view
from appliance.web.members import next_free_addresses, port_choices

from ..conftest import ROOT
from .conftest import csrf
from .test_admin_pages import NEW_MEMBER

ROWS = [
    {"name": "eth0", "kind": None, "role": "management", "mac": "52:54:00:00:00:01"},
    {"name": "ixp1", "kind": "veth", "role": "member", "used_by": "AS64496"},
    {"name": "ixp6", "kind": "veth", "role": "free", "mac": "02:aa:00:00:00:06",
     "carrier": True},
    {"name": "br-ixp", "kind": "bridge", "role": "peering-lan"},
]


def test_port_choices_on_a_box_offer_only_free_nics(example_text):
    cfg = load_config_text(example_text)
    choices = port_choices(ROWS, cfg, lab=False, own="", current="")
    assert [v for v, _ in choices] == ["ixp6"]
    assert "free NIC (link up, 02:aa:00:00:00:06)" in choices[0][1]
    # editing: the member's own port comes first; a typed unknown name is kept, marked
    edit = port_choices(ROWS, cfg, lab=False, own="ixp1", current="ixp9")
    assert [v for v, _ in edit] == ["ixp9", "ixp1", "ixp6"]
    assert "not a free NIC" in edit[0][1]
    assert port_choices([], cfg, lab=False, own="", current="") == [], "no NICs: a text field"


def test_port_choices_in_a_lab_offer_a_new_lab_port(example_text):
    cfg = load_config_text(example_text)  # members use ixp1..ixp5
    choices = port_choices(ROWS, cfg, lab=True, own="", current="")
    assert ("ixp7", "ixp7 — new lab port (the lab creates it and a member router)") in choices
    bare = port_choices([], cfg, lab=True, own="", current="")
    assert [v for v, _ in bare] == ["ixp6"]


def test_member_form_offers_the_lab_port(client, configured):
    LabState("ixl-t", "ixl-t-ixp", 5, [LabMember(64496, "x", "ixl-t-m1", "ixp1", "s")]
             ).save(configured)
    page = client.get("/members/new").data.decode()
    assert '<select id="f-ports" name="ports"' in page
    assert '<option value="ixp6" >ixp6 — new lab port' in page


def test_next_free_addresses(example_text):
    cfg = load_config_text(example_text)  # members .10-.14, route server .1, resolver .53
    assert next_free_addresses(cfg) == {"ipv4": "203.0.113.15", "ipv6": "2001:db8:eeee::15"}
    data = yaml.safe_load(example_text)
    data["members"][4]["ipv4"] = ["203.0.113.254"]
    data["members"][4]["ipv6"] = ["2001:db8:eeee:0:ffff:ffff:ffff:fffe"]
    from appliance.config.loader import config_from_data
    full = next_free_addresses(config_from_data(data))
    # after .254 comes the broadcast address: back to the lowest free one (not .1, the RS)
    assert full == {"ipv4": "203.0.113.2", "ipv6": "2001:db8:eeee::2"}


def test_new_member_form_prefills_next_addresses(client):
    page = client.get("/members/new").data.decode()
    assert 'name="ipv4" value="203.0.113.15"' in page
    assert 'name="ipv6" value="2001:db8:eeee::15"' in page


def test_refused_port_is_shown_next_to_the_port_field(client, configured, monkeypatch):
    # What the bridge's plan says on a box when the NIC is missing (see bridge/plan.py).
    said = ("interface ixp6 does not exist in this host (port of AS64501 Coral Cloud); "
            "check the NIC name with the port inventory")
    monkeypatch.setattr(members_view, "prepare",
                        lambda *_a, **_k: [("members[5].ports[0].interface", said),
                                           ("", "the lock is busy")])
    page = client.get("/members/new")
    resp = client.post("/members/new", data={**NEW_MEMBER, "action": "save",
                                              "csrf_token": csrf(page.data)})
    assert resp.status_code == 400
    html = resp.data.decode()
    err = html[html.index('id="f-ports-err"'):]
    assert err.startswith('id="f-ports-err">Interface ixp6 does not exist in this host')
    assert 'class="error">the lock is busy' in html, "problems without a field go on top"
    assert 'value="Coral Cloud"' in html, "what was typed stays"
    assert RevisionStore(configured).latest().id == 1


def test_max_prefix_suggested_from_peeringdb(client, configured):
    (configured / "peeringdb").mkdir()
    shutil.copy(ROOT / "tests" / "fixtures" / "peeringdb" / "peeringdb.json",
                configured / "peeringdb" / "peeringdb.json")
    page = client.get("/members/new")
    form = {**NEW_MEMBER, "max_prefix.ipv4": "", "max_prefix.ipv6": "", "macs": "",
            "action": "save", "csrf_token": csrf(page.data)}
    resp = client.post("/members/new", data=form)
    assert resp.status_code == 400  # the MAC is missing
    assert 'name="max_prefix.ipv4" value="20"' in resp.data.decode()


def test_a_free_nic_is_offered_with_what_tells_it_apart_at_the_rack(example_text):
    # issue 14 item 7: link, speed, MAC and driver, so the volunteer finds the cable
    cfg = load_config_text(example_text)
    rows = [{"name": "enp3s0", "kind": None, "role": "free", "mac": "3c:ec:ef:00:00:01",
             "carrier": True, "speed_mbps": 10000, "driver": "ixgbe"},
            {"name": "enp4s0", "kind": None, "role": "free", "mac": "3c:ec:ef:00:00:02",
             "carrier": False, "speed_mbps": 1000, "driver": "igb"},
            {"name": "enp5s0", "kind": None, "role": "free", "carrier": True,
             "speed_mbps": 2500}]
    labels = dict(port_choices(rows, cfg, lab=False, own="", current=""))
    assert labels["enp3s0"] == "enp3s0 — free NIC (link up, 10 Gbit/s, 3c:ec:ef:00:00:01, ixgbe)"
    assert labels["enp4s0"] == "enp4s0 — free NIC (no link, 3c:ec:ef:00:00:02, igb)"
    assert labels["enp5s0"] == "enp5s0 — free NIC (link up, 2500 Mbit/s)"
