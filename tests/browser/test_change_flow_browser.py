"""A person's use of review → apply (issue 15 item 3): two tabs, a double click, the Back
button. Apply applies exactly the change its page shows, once."""

from __future__ import annotations

import yaml

from appliance.box import build_pipeline
from appliance.config.revisions import RevisionStore
from appliance.web.accounts import hash_password

from .conftest import log_in
from .test_backup_browser import serving

ADMIN, PASSWORD = "noc", "island exchange first light"
CORAL = {"asn": "64501", "name": "Coral Cloud", "ports": "ixp6", "macs": "02:00:5e:10:00:06",
         "ipv4": "203.0.113.15", "ipv6": "2001:db8:eeee::15"}
LAGOON = {"asn": "64502", "name": "Lagoon Télécom", "ports": "ixp7",
          "macs": "02:00:5e:10:00:07", "ipv4": "203.0.113.16", "ipv6": "2001:db8:eeee::16"}


def _box(state_dir, example_text) -> None:
    data = yaml.safe_load(example_text)
    data["admin_users"] = [{"name": ADMIN, "password_hash": hash_password(PASSWORD)}]
    assert build_pipeline(state_dir).run(yaml.safe_dump(data), author="noc", comment="first").ok


def _prepare_member(page, url: str, member: dict[str, str]) -> None:
    page.goto(url + "/members/new")
    page.fill("#f-asn", member["asn"])
    page.fill("#f-name", member["name"])
    if page.locator("select#f-ports").count():
        page.select_option("#f-ports", member["ports"])
    else:
        page.fill("#f-ports", member["ports"])
    page.fill("#f-macs", member["macs"])
    page.fill("#f-ipv4", member["ipv4"])
    page.fill("#f-ipv6", member["ipv6"])
    page.fill("#f-max_prefix-ipv4", "10")
    page.fill("#f-max_prefix-ipv6", "10")
    page.click("button[value=save]")
    page.wait_for_selector("text=Review the change")


def _members(state_dir) -> list[int]:
    return [m["asn"] for m in yaml.safe_load(RevisionStore(state_dir).latest().config)["members"]]


def test_two_tabs_each_apply_their_own_change(browser_page, shots, tmp_path, example_text):
    _box(tmp_path, example_text)
    tab_a = browser_page
    with serving(tmp_path) as url:
        log_in(tab_a, url, ADMIN, PASSWORD)
        tab_b = tab_a.context.new_page()  # same browser, same login
        _prepare_member(tab_a, url, CORAL)
        _prepare_member(tab_b, url, LAGOON)
        assert "AS64501 Coral Cloud joins the exchange" in tab_a.inner_text("main")
        assert "AS64502 Lagoon Télécom joins the exchange" in tab_b.inner_text("main")
        shots(tab_a, "tab-a-review")

        tab_a.click("button.primary")  # tab A still shows AS64501: that is what is applied
        tab_a.wait_for_selector("#result .success", timeout=60_000)
        rev = RevisionStore(tmp_path).latest()
        assert rev.id == 2 and rev.comment == "member add AS64501 Coral Cloud"
        assert 64501 in _members(tmp_path) and 64502 not in _members(tmp_path)

        # Tab B was reviewed against revision 1: it is not applied unseen, but made again on
        # top of revision 2 and shown for review, with AS64501 kept.
        tab_b.click("button.primary")
        tab_b.wait_for_selector("text=Review the change")
        text = tab_b.inner_text("main")
        assert "prepared before another change was applied" in tab_b.inner_text("body")
        assert "Revision 2 was applied after this change was prepared" in text
        assert "AS64502 Lagoon Télécom joins the exchange" in text
        assert "Coral Cloud" not in text, "tab B's change does not undo tab A's"
        assert RevisionStore(tmp_path).latest().id == 2, "nothing applied unseen"
        shots(tab_b, "tab-b-rebased")
        tab_b.click("button.primary")
        tab_b.wait_for_selector("#result .success", timeout=60_000)
        rev = RevisionStore(tmp_path).latest()
        assert rev.id == 3 and rev.comment == "member add AS64502 Lagoon Télécom"
        assert {64501, 64502} <= set(_members(tmp_path))


def test_a_double_click_and_the_back_button_apply_once(browser_page, shots, tmp_path,
                                                      example_text):
    _box(tmp_path, example_text)
    page = browser_page
    with serving(tmp_path) as url:
        log_in(page, url, ADMIN, PASSWORD)
        _prepare_member(page, url, CORAL)
        page.dblclick("button.primary")  # (two POSTs at once: tests/web/test_change_flow.py)
        page.wait_for_selector("#result .success", timeout=60_000)
        assert page.inner_text("#apply-heading") == "Applied"
        assert "nothing to change" not in page.inner_text("main")
        assert "applied and committed as revision 2" in page.inner_text("main")
        assert RevisionStore(tmp_path).latest().id == 2
        shots(page, "applied-once")

        page.go_back()  # the review page again, from the browser's history
        page.wait_for_selector("#result .success", timeout=60_000)
        assert "applied and committed as revision 2" in page.inner_text("main"), \
            "the review of an applied change shows how its apply went"
        assert RevisionStore(tmp_path).latest().id == 2
