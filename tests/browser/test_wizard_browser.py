"""A volunteer walks the setup wizard in a real browser on a lab box, mistakes included."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from appliance.config.revisions import RevisionStore

IRR_FIXTURE = Path(__file__).parents[1] / "fixtures" / "bird" / "irr" / "irr-cache.json"

PASSWORD = "island exchange first light"


def test_wizard_end_to_end(demo, browser_page, shots, tmp_path):
    url, code, state_dir = demo
    page = browser_page
    page.goto(url)
    assert page.url.endswith("/setup")
    shots(page, "setup-code")

    # a wrong code is refused and nothing opens
    page.fill("#code", "AAAA-BBBB-CCCC")
    page.click("button[type=submit]")
    assert "not the setup code" in page.inner_text(".alert")
    shots(page, "setup-code-wrong")
    page.fill("#code", code)
    page.click("button[type=submit]")
    assert page.url.endswith("/setup/admin")

    # weak password refused, then a good one
    page.fill("#name", "admin")
    page.fill("#password", "short")
    page.fill("#password2", "short")
    page.click("button[type=submit]")
    assert "at least 12 characters" in page.inner_text("#password-err")
    shots(page, "admin-weak-password")
    page.fill("#password", PASSWORD)
    page.fill("#password2", PASSWORD)
    shots(page, "admin-account")
    page.click("button[type=submit]")
    assert page.url.endswith("/wizard/identity")

    # identity: the lab's committed config pre-fills it; make a mistake first
    assert page.input_value("#f-name") == "Example Island Internet Exchange"
    page.fill("#f-country", "Fiji")
    page.click("button[value=next]")
    assert "two-letter ISO 3166" in page.inner_text(".has-error .error")
    shots(page, "identity-mistake")
    page.fill("#f-country", "FJ")
    shots(page, "identity")
    page.click("button[value=next]")
    assert page.url.endswith("/wizard/management")
    # choose, don't type: the time zone comes from a list; the lab's NICs are all member
    # ports or the bridge, so the page says why the management NIC is typed here
    assert page.eval_on_selector("#f-interface", "e => e.tagName") == "INPUT"
    assert "None of the NICs above is free for management" in page.inner_text("#no-mgmt-nic")
    zones = page.eval_on_selector_all("#f-timezone option", "os => os.map(o => o.value)")
    assert "Pacific/Tongatapu" in zones and len(zones) > 300
    page.select_option("#f-timezone", "Pacific/Tongatapu")
    shots(page, "management")
    # the step's Help opens its part of the guide, served by the box itself
    page.click("a.help-link")
    assert page.url.endswith("/wizard/help/setup-wizard.md#management-network")
    assert "Management network" in page.inner_text("#management-network")
    page.go_back()
    assert page.url.endswith("/wizard/management")
    page.click("button[value=next]")

    # peering LAN: a prefix with host bits is explained; Back keeps what was typed
    page.fill("#f-ipv4_prefix", "203.0.113.7/24")
    page.click("button[value=next]")
    assert "host bits set" in page.inner_text(".has-error .error")
    shots(page, "peering-lan-mistake")
    page.click("button[value=back]")
    assert page.url.endswith("/wizard/management")
    page.click("button[value=next]")
    assert page.input_value("#f-ipv4_prefix") == "203.0.113.7/24"
    page.fill("#f-ipv4_prefix", "203.0.113.0/24")
    nics = page.inner_text("details.nics")
    assert "ixp1" in nics and "AS64496 Island Telecom" in nics and "peering LAN bridge" in nics
    shots(page, "peering-lan")
    page.click("button[value=next]")

    assert page.url.endswith("/wizard/route_server")
    assert "Only tag: unregistered routes still reach every member" in page.inner_text("main")
    shots(page, "route-server")
    page.click("button[value=next]")
    shots(page, "services")
    page.click("button[value=next]")

    # SNMP: a too-short pass phrase is refused
    page.check("#f-enabled")
    page.fill("#f-users-0-name", "librenms")
    page.fill("#f-users-0-auth_password", "short")
    page.fill("#f-users-0-priv_password", "privacy pass phrase")
    page.click("button[value=next]")
    assert "at least 8 characters" in page.inner_text(".has-error .error")
    page.fill("#f-users-0-auth_password", "authentication pass phrase")
    shots(page, "snmp")
    page.click("button[value=next]")

    # the optional last step: alerts by e-mail (left empty here; the Alerts page has more)
    assert page.url.endswith("/wizard/alerts")
    assert page.locator("#f-email-relay").count() == 1
    shots(page, "alerts")
    page.click("button[value=next]")

    assert page.url.endswith("/wizard/review")
    main = page.inner_text("main")
    assert "Everything checks out" in main and "What will happen" in main
    assert "The time zone: Pacific/Fiji → Pacific/Tongatapu." in main
    assert "The SNMP agent is turned on." in main and "SNMPv3 user librenms is added." in main
    assert "Account admin (admin) can log in." in main
    assert "pass phrase" not in main, "secrets must be hidden in the review"
    assert page.locator("details.review-file[open]").count() == 0, "diffs start folded"
    shots(page, "review")
    assert RevisionStore(state_dir).latest().id == 1, "nothing applied before Apply"

    # IRR is set to reject but the lab has no IRR data: the review says so, and takes a file
    notice = page.inner_text("#irr")
    assert "No IRR data loaded yet" in notice and "AS64496 Island Telecom" in notice
    sample = next(iter(json.loads(IRR_FIXTURE.read_text()).values()))
    objects = ["AS-ISLANDTEL", "AS-LAGOON", "AS64498", "AS64499", "AS64500"]
    irr_file = tmp_path / "irr-for-the-lab.json"
    irr_file.write_text(json.dumps({o: sample for o in objects}))
    page.set_input_files("#irr-file", str(irr_file))
    page.click("button:has-text('Upload IRR data')")
    assert "Imported IRR data for 5 object(s)" in page.inner_text("main")
    assert page.locator("#irr").count() == 0, "the warning is gone once data is loaded"

    page.click("button.primary")
    page.wait_for_selector("#result .success", timeout=60_000)
    assert page.inner_text("#apply-heading") == "Applied"
    shots(page, "applied")
    stages = page.locator(".stage.ok").count()
    assert stages == 6

    rev = RevisionStore(state_dir).latest()
    cfg = yaml.safe_load(rev.config)
    assert rev.id == 2 and rev.comment == "setup wizard"
    assert cfg["admin_users"][0]["name"] == "admin" and cfg["snmp"]["enabled"] is True
    assert cfg["management"]["timezone"] == "Pacific/Tongatapu"

    page.click("text=Go to the status page")
    page.wait_for_selector("text=Recent changes")
    assert "Reef Networks" in page.inner_text("main")
    shots(page, "status")

    # the wizard is closed now; logging out and in again works with the new account
    page.goto(url + "wizard/identity")
    assert not page.url.endswith("/wizard/identity")
    page.click("text=Log out")
    page.fill("#name", "admin")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("text=Recent changes")
