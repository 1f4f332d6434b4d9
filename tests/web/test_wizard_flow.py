"""Walk the wizard with the Flask client: mistakes are shown, nothing is applied until the end."""

from __future__ import annotations

import time

import yaml

from appliance.box import build_pipeline
from appliance.config.revisions import RevisionStore
from appliance.web import create_app, secrets_store
from appliance.web.accounts import setup_done

from .conftest import ADMIN, PASSWORD, csrf, form_fields

GOOD = {
    "identity": {"name": "Example Island Internet Exchange", "short_name": "EIIX",
                 "country": "FJ", "city": "Suva", "contact_email": "noc@eiix.example.net"},
    "management": {"interface": "eth0", "hostname": "rs1.eiix.example.net", "ipv4": "dhcp",
                   "ntp": "0.debian.pool.ntp.org", "timezone": "Pacific/Fiji"},
    "peering_lan": {"ipv4_prefix": "203.0.113.0/24", "ipv6_prefix": "2001:db8:eeee::/64",
                    "mtu": "1500", "bridge": "br-ixp"},
    "route_server": {"asn": "65000", "ipv4": "203.0.113.1", "ipv6": "2001:db8:eeee::1",
                     "policy.rpki": "reject_invalid", "policy.irr": "reject"},
    "services": {"resolver.enabled": "on", "resolver.ipv4": "203.0.113.53 192.0.2.53",
                 "resolver.local_root": "on", "anycast.0.prefix": "192.0.2.0/24",
                 "looking_glass.public": "on"},
    "snmp": {"enabled": "on", "location": "Rack 1", "users.0.name": "librenms",
             "users.0.auth_password": "auth-pass-phrase", "users.0.priv_password":
             "priv-pass-phrase"},
    "alerts": {"email.enabled": "on", "email.relay": "smtp.example.net", "email.port": "587",
               "email.username": "ixp-alerts", "email.smtp_password": "mail-pass-phrase",
               "email.sender": "ixp@example.net", "email.recipients": "noc@example.net",
               "webhooks.0.url": ""},
}


def _start(tmp_path):
    c = create_app(tmp_path).test_client()
    page = c.get("/setup")
    c.post("/setup", data={"code": secrets_store.setup_code(tmp_path),
                           "csrf_token": csrf(page.data)})
    page = c.get("/setup/admin")
    c.post("/setup/admin", data={"name": ADMIN, "password": PASSWORD, "password2": PASSWORD,
                                 "csrf_token": csrf(page.data)})
    return c


def _submit(c, step, values, action="next"):
    page = c.get(f"/wizard/{step}")
    return c.post(f"/wizard/{step}", data={**values, "action": action,
                                           "csrf_token": csrf(page.data)})


def test_whole_wizard_with_mistakes(tmp_path):
    c = _start(tmp_path)
    # a logged-in user is kept in the wizard until setup is done
    assert c.get("/").headers["Location"].endswith("/wizard/identity")

    bad = _submit(c, "identity", {**GOOD["identity"], "country": "Fiji", "contact_email": "x"})
    assert bad.status_code == 400
    assert b"two-letter ISO 3166" in bad.data and b"e-mail address" in bad.data
    assert b'value="Fiji"' in bad.data, "what was typed must stay in the form"
    assert _submit(c, "identity", GOOD["identity"]).headers["Location"].endswith("/management")

    assert _submit(c, "management", GOOD["management"]).status_code == 302
    back = _submit(c, "peering_lan", {**GOOD["peering_lan"], "mtu": "9000"}, action="back")
    assert back.headers["Location"].endswith("/wizard/management")
    assert b'value="9000"' in c.get("/wizard/peering_lan").data, "back must not lose input"

    bad = _submit(c, "peering_lan", {**GOOD["peering_lan"], "ipv4_prefix": "203.0.113.9/24"})
    assert bad.status_code == 400 and b"host bits set" in bad.data
    assert _submit(c, "peering_lan", GOOD["peering_lan"]).status_code == 302

    page = c.get("/wizard/route_server")
    assert b'value="203.0.113.1"' in page.data, "route server address is filled in"
    bad = _submit(c, "route_server", {**GOOD["route_server"], "asn": "not-a-number"})
    assert bad.status_code == 400 and b"not an AS number" in bad.data
    assert _submit(c, "route_server", GOOD["route_server"]).status_code == 302

    bad = _submit(c, "services", {**GOOD["services"], "anycast.0.prefix": "203.0.113.0/25"})
    assert bad.status_code == 400 and b"overlaps the peering LAN" in bad.data
    assert _submit(c, "services", GOOD["services"]).status_code == 302
    bad = _submit(c, "snmp", {**GOOD["snmp"], "users.0.auth_password": "short"})
    assert bad.status_code == 400 and b"at least 8 characters" in bad.data
    assert _submit(c, "snmp", GOOD["snmp"]).headers["Location"].endswith("/wizard/alerts")
    # the optional last step: alert mail without a sender is refused, with the reason
    bad = _submit(c, "alerts", {**GOOD["alerts"], "email.sender": ""})
    assert bad.status_code == 400 and b"Alert mail is enabled: set sender" in bad.data
    done = _submit(c, "alerts", GOOD["alerts"])
    assert done.headers["Location"].endswith("/wizard/review")
    assert RevisionStore(tmp_path).latest() is None, "nothing is applied before the review"

    review = c.get("/wizard/review")
    assert b"Everything checks out" in review.data and b"+ [core] file ixp.yaml" in review.data
    assert b"$argon2id$" not in review.data and b"priv-pass-phrase" not in review.data
    assert b"mail-pass-phrase" not in review.data
    assert b"(hidden)" in review.data
    resp = c.post("/wizard/apply", data=form_fields(review.data, "/wizard/apply"))
    job_url = resp.headers["Location"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        job = c.get(job_url + ".json").get_json()
        if job["done"]:
            break
        time.sleep(0.1)
    assert job["done"] and job["outcome"]["ok"], job
    assert all(s["state"] == "ok" for s in job["stages"].values())
    page = c.get(job_url)
    assert b"Go to the status page" in page.data

    rev = RevisionStore(tmp_path).latest()
    cfg = yaml.safe_load(rev.config)
    assert rev.author == ADMIN and rev.comment == "setup wizard"
    assert cfg["identity"]["short_name"] == "EIIX" and cfg["route_server"]["router_id"]
    assert cfg["admin_users"][0]["name"] == ADMIN and cfg["snmp"]["users"][0]["name"]
    assert cfg["services"]["anycast"] == [{"prefix": "192.0.2.0/24"}]
    assert cfg["services"]["looking_glass"] == {"public": True}
    assert cfg["alerts"]["email"]["recipients"] == ["noc@example.net"]
    assert cfg["alerts"]["email"]["smtp_password"] == "mail-pass-phrase"
    assert setup_done(tmp_path)
    assert not (tmp_path / "web" / "setup-code").exists(), "the setup code must be retired"
    assert not (tmp_path / "web" / "wizard-draft.json").exists()
    assert c.get("/wizard/identity").headers["Location"] == "/"
    assert b"Example Island Internet Exchange" in c.get("/").data


def test_review_lists_what_is_missing(tmp_path):
    c = _start(tmp_path)
    _submit(c, "identity", GOOD["identity"])
    review = c.get("/wizard/review")
    assert b"need attention" in review.data
    assert b"peering_lan: is required" in review.data
    assert b"Apply</button>" not in review.data
    assert RevisionStore(tmp_path).latest() is None


def test_wizard_starts_from_the_committed_config(tmp_path, example_text):
    build_pipeline(tmp_path).run(example_text, author="demo")
    c = _start(tmp_path)
    page = c.get("/wizard/identity")
    assert b'value="Example Island Internet Exchange"' in page.data
    for step in ("identity", "management", "peering_lan", "route_server", "services", "snmp",
                 "alerts"):
        page = c.get(f"/wizard/{step}")
        resp = c.post(f"/wizard/{step}", data={"action": "next", "csrf_token": csrf(page.data),
                      **_current_values(page.data)})
        assert resp.status_code == 302, (step, resp.data[:2000])
    review = c.get("/wizard/review")
    assert b"Everything checks out" in review.data


def _current_values(html: bytes) -> dict[str, str]:
    import re
    text = html.decode()
    out = {m.group(1): m.group(2) for m in re.finditer(r'<input id="[^"]+" name="([^"]+)" '
                                                        r'value="([^"]*)"', text)}
    for m in re.finditer(r'<input type="checkbox" id="[^"]+" name="([^"]+)" (checked)?', text):
        if m.group(2):
            out[m.group(1)] = "on"
    for m in re.finditer(r'<select id="[^"]+" name="([^"]+)">(.*?)</select>', text, re.S):
        sel = re.search(r'<option value="([^"]+)" selected', m.group(2))
        if sel:
            out[m.group(1)] = sel.group(1)
    return {k: v.replace("&#39;", "'").replace("&amp;", "&") for k, v in out.items()}


def test_management_nic_defaults_to_the_one_first_boot_chose(tmp_path, monkeypatch):
    # On the image ixp-host-init records the management NIC; the wizard must offer it, not
    # the model's "eth0", or the management firewall would refuse the whole setup.
    from appliance.firewall import safety

    recorded = tmp_path / "mgmt-interface"
    recorded.write_text("enp1s0\n")
    monkeypatch.setattr(safety, "RECORDED_MGMT_INTERFACE", recorded)
    c = _start(tmp_path / "state")
    page = c.get("/wizard/management")
    assert b'name="interface" value="enp1s0"' in page.data
    monkeypatch.setattr(safety, "RECORDED_MGMT_INTERFACE", tmp_path / "absent")
    page = c.get("/wizard/management")
    assert b'name="interface" value="eth0"' in page.data


def test_time_zone_is_chosen_from_a_list(tmp_path):
    c = _start(tmp_path)
    page = c.get("/wizard/management").data.decode()
    assert '<select id="f-timezone" name="timezone"' in page
    assert '<option value="UTC" selected>UTC</option>' in page
    assert '<option value="Pacific/Fiji" >Pacific/Fiji</option>' in page
    assert _submit(c, "management", GOOD["management"]).status_code == 302
    page = c.get("/wizard/management").data.decode()
    assert '<option value="Pacific/Fiji" selected>' in page, "the current value is chosen"
    bad = _submit(c, "management", {**GOOD["management"], "timezone": "Mars/Olympus"})
    assert bad.status_code == 400 and b"Mars/Olympus" in bad.data, "kept, and refused"


def test_management_nic_is_chosen_from_the_detected_ones():
    from appliance.web.wizard import management_choices
    rows = [{"name": "enp1s0", "kind": None, "role": "free", "carrier": True,
             "mac": "52:54:00:12:34:56"},
            {"name": "ixp1", "kind": "veth", "role": "member"},
            {"name": "br-ixp", "kind": "bridge", "role": "peering-lan"},
            {"name": "enp2s0", "kind": None, "role": "management", "carrier": False}]
    assert management_choices(rows, "enp2s0") == [
        ("enp1s0", "enp1s0 (link up, 52:54:00:12:34:56)"),
        ("enp2s0", "enp2s0 (no link; the management NIC now)")]
    # the model's default "eth0" is not on this box: it is offered, marked, never hidden
    assert management_choices(rows, "eth0")[0] == ("eth0", "eth0 (not found on this box)")
    assert management_choices([], "eth0") == [], "nothing detected: a text field"


def test_management_step_offers_the_detected_nics(tmp_path, monkeypatch):
    import appliance.web.wizard as wizard_view
    rows = [{"name": "enp1s0", "kind": None, "role": "free", "carrier": True, "mac": "m1"},
            {"name": "enp2s0", "kind": None, "role": "free", "carrier": False}]
    monkeypatch.setattr(wizard_view, "nic_rows", lambda *a: rows)
    c = _start(tmp_path)
    page = c.get("/wizard/management").data.decode()
    assert '<select id="f-interface" name="interface"' in page
    assert '<option value="eth0" selected>eth0 (not found on this box)</option>' in page
    assert '<option value="enp1s0" >enp1s0 (link up, m1)</option>' in page
    assert _submit(c, "management", {**GOOD["management"], "interface": "enp1s0"}
                   ).status_code == 302
    assert '<option value="enp1s0" selected>' in c.get("/wizard/management").data.decode()
