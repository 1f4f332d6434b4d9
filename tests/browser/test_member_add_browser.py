"""An operator adds a member in the admin UI and sees its BGP session come up."""

from __future__ import annotations

import time

import pytest
import yaml

from appliance.web.accounts import hash_password

from .conftest import log_in, served_lab

PASSWORD = "admin pass phrase 42"


@pytest.fixture
def lab_without_last_member(root_required, tmp_path, example_text):
    """The lab has five member routers, but the box is configured with only the first four."""
    full = yaml.safe_load(example_text)
    four = {**full, "members": full["members"][:4],
            "admin_users": [{"name": "noc", "password_hash": hash_password(PASSWORD)}]}
    with served_lab(tmp_path, example_text, four) as (_state, url):
        yield full["members"][4], url


def test_add_member_and_see_its_session(lab_without_last_member, browser_page, shots):
    member, url = lab_without_last_member
    page = browser_page
    log_in(page, url, "noc", PASSWORD)
    page.click("nav >> text=Members")
    assert f"AS{member['asn']}" not in page.inner_text("main")
    page.click("text=Add member")
    page.fill("#f-asn", str(member["asn"]))
    page.fill("#f-name", member["name"])
    # the port is chosen from a list: the free NICs, and in a lab a new lab port
    offered = page.eval_on_selector_all("#f-ports option", "os => os.map(o => o.value)")
    assert member["ports"][0] in offered, offered
    assert not {"ixp1", "ixp2", "ixp3", "ixp4"} & set(offered), "other members' ports"
    page.select_option("#f-ports", member["ports"][0])
    # the next free peering-LAN addresses are suggested
    assert page.input_value("#f-ipv4") == member["ipv4"][0]
    page.fill("#f-macs", member["macs"][0])
    page.fill("#f-ipv6", member["ipv6"][0])
    page.fill("#f-max_prefix-ipv4", "5")
    shots(page, "member-form")
    page.click("button[value=save]")
    page.wait_for_selector("text=Review the change")
    main = page.inner_text("main")
    assert f"member add AS{member['asn']}" in main
    # the review says what happens in words; the diffs are there but folded
    assert f"AS{member['asn']} {member['name']} joins the exchange: port " \
        f"{member['ports'][0]}" in main
    assert "The route server opens 2 BGP sessions" in main
    assert page.locator("details.review-file[open]").count() == 0
    assert not page.locator("details.review-file pre").first.is_visible()
    shots(page, "member-review")
    # Edit goes back to the form with what was entered; saving again returns to the review
    page.click("a:has-text('Edit')")
    assert page.input_value("#f-name") == member["name"]
    assert page.input_value("#f-max_prefix-ipv4") == "5"
    page.click("button[value=save]")
    page.wait_for_selector("text=Review the change")
    page.locator("details.review-file summary").first.click()
    assert page.locator("details.review-file pre").first.is_visible()
    page.dblclick("button.primary")  # a double click applies once
    page.wait_for_selector("#result .success", timeout=60_000)
    assert page.inner_text("#apply-heading") == "Applied"
    shots(page, "member-applied")

    # the member router was already trying; once the route server knows it, both sessions
    # come up, and the members page shows them Established
    deadline = time.monotonic() + 60
    text = ""
    while time.monotonic() < deadline:
        page.goto(url + "members")
        row = page.locator("tr", has_text=f"AS{member['asn']}")
        text = row.inner_text() if row.count() else ""
        if text.count("Established") == 2:
            break
        time.sleep(1)
    assert text.count("Established") == 2, text
    shots(page, "member-session-up")
