"""An operator adds a member on a VLAN port in the admin UI (issue 16 item 10): the VLAN
field beside the port, the list saying ``ixp6 · VLAN 101``, the VLAN kept on edit, a bad VLAN id
refused next to its field; every page of it accessible."""

from __future__ import annotations

import yaml

from appliance.box import build_pipeline
from appliance.config.revisions import RevisionStore
from appliance.web.accounts import hash_password

from .conftest import axe_violations, log_in
from .test_backup_browser import serving

ADMIN, PASSWORD = "noc", "island exchange first light"


def _configured(state_dir, example_text):
    data = yaml.safe_load(example_text)
    data["admin_users"] = [{"name": ADMIN, "password_hash": hash_password(PASSWORD)}]
    out = build_pipeline(state_dir).run(yaml.safe_dump(data), author="t", comment="first light")
    assert out.ok, out.error


def _apply(page) -> None:
    page.wait_for_selector("text=Review the change")
    page.click("button.primary")
    page.wait_for_selector("#result .success", timeout=60_000)
    assert page.inner_text("#apply-heading") == "Applied"


def _ports_cell(page, url: str, asn: int) -> str:
    page.goto(url + "/members")
    return page.locator("tr", has_text=f"AS{asn}").locator("td").nth(2).inner_text()


def test_add_a_member_on_a_vlan_port_and_edit_it(browser_page, shots, tmp_path, example_text,
                                                   axe_source):
    _configured(tmp_path, example_text)
    page = browser_page
    with serving(tmp_path) as url:
        log_in(page, url, ADMIN, PASSWORD)
        page.goto(url + "/members/new")
        page.fill("#f-asn", "64501")
        page.fill("#f-name", "Coral Cloud")
        page.fill("#f-ports", "ixp6")
        page.fill("#f-macs", "02:00:5e:10:00:06")
        page.fill("#f-max_prefix-ipv4", "20")
        page.fill("#f-max_prefix-ipv6", "10")

        # a VLAN id out of range: refused next to the field, with what was typed kept
        page.fill("#f-vlan", "4095")
        page.click("button[value=save]")
        error = page.inner_text("#f-vlan-err")
        assert error.startswith("VLAN: give a VLAN id from 1 to 4094") and "4095" in error
        assert page.get_attribute("#f-vlan", "aria-invalid") == "true"
        assert page.input_value("#f-name") == "Coral Cloud"
        shots(page, "vlan-refused")
        assert axe_violations(page, axe_source) == []
        assert RevisionStore(tmp_path).latest().id == 1

        page.fill("#f-vlan", "101")
        shots(page, "vlan-form")
        page.click("button[value=save]")
        assert "joins the exchange: port ixp6 VLAN 101" in page.inner_text("main"), \
            "the review says the VLAN"
        _apply(page)
        assert _ports_cell(page, url, 64501) == "ixp6 · VLAN 101"
        shots(page, "vlan-listed")
        assert axe_violations(page, axe_source) == []
        page.click("a:has-text('Coral Cloud')")
        assert "ixp6 · VLAN 101" in page.inner_text("main"), "the member page shows the VLAN"

        # editing something else keeps the VLAN
        page.goto(url + "/members")
        page.locator("tr", has_text="AS64501").locator("a:has-text('Edit')").click()
        assert page.input_value("#f-vlan") == "101"
        assert axe_violations(page, axe_source) == []
        page.fill("#f-name", "Coral Cloud Pacific")
        page.click("button[value=save]")
        _apply(page)
        assert _ports_cell(page, url, 64501) == "ixp6 · VLAN 101"
        members = yaml.safe_load(RevisionStore(tmp_path).latest().config)["members"]
        mine = next(m for m in members if m["asn"] == 64501)
        assert mine["name"] == "Coral Cloud Pacific"
        assert mine["ports"] == [{"interface": "ixp6", "vlan": 101}]
