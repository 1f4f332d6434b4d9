"""A member's login in a browser (issue 18 item 5): it sees its own report card and its own
row of the traffic matrix, and gets 403 for every other member's page and API answer. The
admin's view of the same report card and onboarding checklist is checked with axe-core; small
screenshots go to docs/img/pages/ for docs/operations.md."""

from __future__ import annotations

import json
import time

import pytest
import yaml

from appliance.platform import netns
from appliance.web.accounts import hash_password

from ..conftest import EXAMPLE, ROOT
from .conftest import axe_violations, log_in, served_lab
from .docs_shots import shrink

ADMIN, MEMBER, PASSWORD = "noc", "reef", "member login pass phrase"
OWN, OTHER = 64498, 64496  # Reef Networks (ixp3) and Island Telecom (ixp1)
DOCS_IMG = ROOT / "docs" / "img" / "pages"


def _config() -> dict:
    data = yaml.safe_load(EXAMPLE.read_text())
    data["admin_users"] = [{"name": ADMIN, "password_hash": hash_password(PASSWORD)},
                           {"name": MEMBER, "password_hash": hash_password(PASSWORD),
                            "role": "member", "asn": OWN}]
    return data


def _ping(ns: str, address: str) -> None:
    netns.run(ns, ["ping", "-q", "-c", "20", "-i", "0.05", "-s", "1000", address], check=False)


def _json(page, url: str) -> tuple[int, object]:
    resp = page.request.get(url)
    return resp.status, json.loads(resp.text())


@pytest.fixture
def member_lab(root_required, tmp_path):
    """The example lab served, with an admin and Reef Networks' own account (entered before
    the browser: the lab's netlink calls cannot run inside Playwright's event loop)."""
    data = _config()
    with served_lab(tmp_path, yaml.safe_dump(data), data) as (state, url):
        yield state, url


def test_member_login_sees_only_its_asn(member_lab, browser_page, axe_source, shots):
    state, url = member_lab
    lab = {lm.asn: lm for lm in state.members}
    # traffic: Reef with Island Telecom, and a pair Reef is not part of
    _ping(lab[OWN].netns, "203.0.113.10")
    _ping(lab[OTHER].netns, "203.0.113.11")
    page = browser_page
    log_in(page, url + "login", MEMBER, PASSWORD)
    page.wait_for_selector("#sessions")
    assert page.url.endswith(f"/member/{OWN}"), "a member starts on its report card"
    assert "Reef Networks" in page.inner_text("h1")
    nav = page.inner_text("nav[aria-label=Main]")
    assert "Members" not in nav and "Users" not in nav and "Report card" in nav
    # its top peer is the one it exchanged traffic with; nobody else's pair is shown
    deadline = time.monotonic() + 30
    while "Island Telecom" not in page.inner_text("#peers") and time.monotonic() < deadline:
        time.sleep(1)
        page.reload()
    peers = page.inner_text("#peers")
    assert f"AS{OTHER} Island Telecom" in peers and "Lagoon" not in peers
    assert not axe_violations(page, axe_source)
    shots(page, "member-report-card-member")

    # the matrix: its own row only
    page.click("nav >> text=Traffic matrix")
    page.wait_for_selector("table.matrix")
    rows = page.locator("table.matrix tbody tr")
    assert rows.count() == 1 and f"AS{OWN}" in rows.first.inner_text()
    assert page.locator("#own-row").count() == 1
    status, pairs = _json(page, url + "api/v1/matrix")
    assert status == 200 and pairs
    assert all(OWN in (p["from_asn"], p["to_asn"]) for p in pairs), pairs
    shots(page, "member-matrix-row")

    # everything else answers 403: pages and API
    for path in (f"member/{OTHER}", f"member/{OTHER}/onboarding", f"graphs/member/{OTHER}",
                 "members", "", "lg", "users", "history", "graphs"):
        resp = page.goto(url + path)
        assert resp.status == 403, (path, resp.status)
        assert "Not allowed" in page.inner_text("h1")
        assert f"AS{OWN}" in page.inner_text("main")
    for path in (f"api/v1/members/{OTHER}/report", f"api/v1/members/{OTHER}/onboarding",
                 "api/v1/members", "api/v1/status", "api/v1/config", "metrics"):
        assert page.request.get(url + path).status == 403, path
    status, own = _json(page, url + f"api/v1/members/{OWN}/report")
    assert status == 200 and own["name"] == "Reef Networks"
    page.goto(url + f"member/{OWN}/onboarding")
    assert page.locator("#onboarding-checks > li").count() == 7
    assert page.locator("#release").count() == 0, "a member cannot release its port"
    page.click("text=Log out")

    # the admin sees every member's card and checklist (checked with axe)
    log_in(page, url + "login", ADMIN, PASSWORD)
    page.goto(url + f"member/{OTHER}")
    page.wait_for_selector("#sessions")
    assert not axe_violations(page, axe_source)
    card = shots(page, "member-report-card")
    page.goto(url + f"member/{OTHER}/onboarding")
    page.wait_for_selector("#onboarding-checks")
    assert not axe_violations(page, axe_source)
    checklist = shots(page, "member-onboarding")
    spare = page.context.new_page()
    try:
        shrink(spare, card, DOCS_IMG / "member-report-card.png", 1300)
        shrink(spare, checklist, DOCS_IMG / "member-onboarding.png", 1100)
    finally:
        spare.close()
