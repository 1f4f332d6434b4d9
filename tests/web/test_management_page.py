"""The Management page: settings after the wizard, through review, and a trial's confirmation."""

from __future__ import annotations

import re

import yaml

from appliance import box
from appliance.management import trial
from appliance.management.render import AddressPlan
from tests.web.conftest import ADMIN, csrf


def test_page_shows_configured_settings_and_says_nothing_is_applied_off_the_image(client):
    page = client.get("/management")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'id="management-state"' in text and "Host name" in text
    assert "left as they are" in text  # a developer machine's name and clock are not ours
    assert 'name="ipv6_gateway"' in text and 'name="trial_seconds"' in text


def test_bad_input_is_named_next_to_its_field_and_nothing_is_kept(client, configured):
    page = client.get("/management")
    resp = client.post("/management", data={
        "csrf_token": csrf(page.data), "interface": "eth0", "hostname": "rs1",
        "ipv4": "10.0.2.20/24", "ipv4_gateway": "10.9.9.1", "ipv6": "auto",
        "timezone": "UTC", "trial_seconds": "300"})
    assert resp.status_code == 400
    text = resp.get_data(as_text=True)
    assert 'id="f-ipv4_gateway-err"' in text and "is not in the management network" in text
    resp = client.post("/management", data={
        "csrf_token": csrf(page.data), "interface": "eth0", "hostname": "rs1", "ipv4": "dhcp",
        "timezone": "UTC", "trial_seconds": "5"})
    assert resp.status_code == 400 and 'id="f-trial_seconds-err"' in resp.get_data(as_text=True)
    assert not (configured / "web" / "pending").exists() or not any(
        (configured / "web" / "pending").iterdir())


def test_a_good_change_goes_to_review_and_keeps_other_settings(client, configured):
    page = client.get("/management")
    resp = client.post("/management", data={
        "csrf_token": csrf(page.data), "interface": "eth0", "hostname": "rs-ñandú",
        "ipv4": "10.0.2.20/24", "ipv4_gateway": "10.0.2.2", "ipv6": "auto",
        "dns": "10.0.2.3", "ntp": "10.0.2.2", "timezone": "Pacific/Fiji",
        "trial_seconds": "300"})
    # a non-ASCII host name is refused with the reason, not turned into a 500
    assert resp.status_code == 400 and "not a valid host name" in resp.get_data(as_text=True)
    page = client.get("/management")
    resp = client.post("/management", data={
        "csrf_token": csrf(page.data), "interface": "eth0", "hostname": "rs1.ix.example.net",
        "ipv4": "10.0.2.20/24", "ipv4_gateway": "10.0.2.2", "ipv6": "auto",
        "dns": "10.0.2.3", "ntp": "10.0.2.2", "timezone": "Pacific/Fiji",
        "trial_seconds": "300"})
    assert resp.status_code == 302
    assert re.search(r"/changes/[A-Za-z0-9_-]{16}$", resp.headers["Location"])
    review = client.get("/changes/review").get_data(as_text=True)
    assert "10.0.2.20/24" in review
    cand = box.candidates(configured).latest(ADMIN)
    data = yaml.safe_load(cand.config)
    assert int(data["management"]["trial_seconds"]) == 300
    assert data["members"], "the members were lost"
    assert data["admin_users"], "the admin was lost"


def test_a_trial_is_announced_on_every_page_and_confirmed_only_from_the_new_address(
        client, configured, monkeypatch):
    new = AddressPlan("eth0", "10.0.2.20/24", "10.0.2.2", "auto", None)
    trial.arm(configured, new, AddressPlan("eth0", "dhcp", None, "auto", None), 120)
    status = client.get("/status").get_data(as_text=True)
    assert 'id="trial-notice"' in status and "10.0.2.20/24" in status
    page = client.get("/management")
    text = page.get_data(as_text=True)
    assert "https://10.0.2.20/management" in text and 'id="confirm-trial"' in text
    # as behind the image's nginx, which sets X-Server-Addr to the address it was reached at
    monkeypatch.setenv("IXP_HTTPS", "1")
    # reached through the old address: refused, the trial goes on
    refused = client.post("/management/confirm", data={"csrf_token": csrf(page.data)},
                          headers={"X-Server-Addr": "10.0.2.15"})
    assert refused.status_code == 303
    assert trial.pending(configured) is not None
    assert "Confirm from the new address" in client.get("/management").get_data(as_text=True)
    page = client.get("/management", headers={"X-Server-Addr": "10.0.2.20"})
    kept = client.post("/management/confirm", data={"csrf_token": csrf(page.data)},
                       headers={"X-Server-Addr": "10.0.2.20"})
    assert kept.status_code == 303 and trial.pending(configured) is None
    assert trial.confirmed(configured) == new
    assert 'id="trial-notice"' not in client.get("/status").get_data(as_text=True)
    js = client.get("/management/status.json").get_json()
    assert js["trial"] is None and js["confirmed"].startswith("eth0: 10.0.2.20/24")
