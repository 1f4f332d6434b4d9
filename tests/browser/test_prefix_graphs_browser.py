"""Prefix counts over time and the public looking glass, in a real browser on a lab whose
route server runs and whose collector samples every second."""

from __future__ import annotations

import time

import pytest
import yaml

from appliance.web.accounts import hash_password

from .conftest import log_in, served_lab

PASSWORD = "prefix graphs pass phrase"


@pytest.fixture
def public_lab(root_required, tmp_path, example_text):
    data = yaml.safe_load(example_text)
    data["admin_users"] = [{"name": "noc", "password_hash": hash_password(PASSWORD)}]
    data.setdefault("services", {})["looking_glass"] = {"public": True}
    with served_lab(tmp_path, example_text, data, sample_interval=1.0) as (_state, url):
        yield url


def test_prefix_graphs_and_public_glass(public_lab, browser_page, shots):
    url, page = public_lab, browser_page
    # anonymous: the looking glass opens without a login; wait for every session to be up
    deadline = time.monotonic() + 90
    page.goto(url + "lg")
    while page.locator("tbody tr", has_text="Established").count() < 10 \
            and time.monotonic() < deadline:
        time.sleep(1)
        page.reload()
    assert page.url.endswith("/lg"), "a public looking glass must not lead to the login"
    assert page.locator("tbody tr", has_text="Established").count() == 10
    # anonymous visitors get the glass and the operators' login, no admin navigation
    assert page.locator("nav a").all_inner_texts() == ["Looking glass", "Operator login"]
    time.sleep(3)  # a few collector rounds with every session up
    page.click("text=AS64496 Island Telecom >> nth=0")
    page.wait_for_selector("svg.chart.prefixes")
    assert page.locator("svg.chart.prefixes polyline.accepted").count() >= 1
    assert "accepted 2" in page.text_content("#prefix-counts")  # two prefixes per lab member
    shots(page, "public-lg-session")

    # logged in: every session's counts, then one member's page from the dashboard
    log_in(page, url + "login", "noc", PASSWORD)
    page.wait_for_selector("#route-server")
    page.click("text=prefix counts over time")
    page.wait_for_selector("svg.chart.prefixes")
    assert page.locator("svg.chart.prefixes").count() == 10  # five members, two families
    shots(page, "prefixes")
    page.goto(url)
    page.click("#route-server >> text=AS64497 Lagoon Broadband >> nth=0")
    page.wait_for_selector("#prefixes svg.chart.prefixes")
    assert page.locator("#prefixes svg.chart.prefixes").count() == 2
    assert page.locator("#traffic svg.chart").count() == 1
    assert "exported 8" in page.text_content("#prefixes")  # four other members, two each
    shots(page, "member-graphs")
