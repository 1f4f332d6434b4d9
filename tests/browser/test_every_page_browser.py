"""Every page of the UI, walked as a person would on a demo box: from the setup code to the
API reference. On each page axe-core (from npm, see dev.sh) must find no serious or critical
accessibility problem, the page's Content-Security-Policy must not have blocked anything, and
a screenshot is saved (artifacts/screenshots/test_every_page/; docs/img/pages/ shows a few)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import ARTIFACTS, axe_violations, running_demo, wait_for_sessions
from .docs_shots import DOCS_PAGES, docs_copies

PASSWORD = "every page pass phrase"

# Pages whose templates another change is rewriting (wizard steps, reviews, the member form,
# the members list, the apply progress): checked like every other page; listed so that a
# failure there is easy to tell apart in the report.
OTHER_HELPER_PAGES = {"wizard-identity", "wizard-management", "wizard-peering_lan",
                      "wizard-route_server", "wizard-services", "wizard-snmp", "wizard-review",
                      "wizard-progress", "members", "member-form-new", "member-form-edit",
                      "change-review", "help", "help-admin-ui"}


@pytest.fixture
def demo_box(root_required, tmp_path):
    """The demo with the collector sampling every second (so the graphs have data)."""
    with running_demo(tmp_path, "--sample-interval", "1") as started:
        yield started


class Walk:
    """Visits pages: checks each with axe-core, records CSP errors, takes a screenshot."""

    def __init__(self, page, axe_source: str, shots) -> None:
        self.page, self.axe_source, self.shots = page, axe_source, shots
        self.results: dict[str, list[dict]] = {}
        self.screenshots: dict[str, Path] = {}
        self.csp_errors: list[str] = []
        page.on("console", self._console)

    def _console(self, msg) -> None:
        if "Content Security Policy" in msg.text or "Content-Security-Policy" in msg.text:
            self.csp_errors.append(f"{self.page.url}: {msg.text}")

    def check(self, name: str) -> None:
        """Run axe on the page as it is and save its screenshot as ``name``."""
        self.page.wait_for_load_state("load")
        assert self.page.locator("h1").count() >= 1, f"{name}: the page has no h1"
        self.results[name] = axe_violations(self.page, self.axe_source)
        self.screenshots[name] = self.shots(self.page, name)



def test_every_page(demo_box, browser_page, axe_source, shots):
    url, code, _state = demo_box
    page = browser_page
    walk = Walk(page, axe_source, shots)

    # first run: the setup code, then the admin account
    page.goto(url)
    assert page.url.endswith("/setup")
    walk.check("setup-code")
    page.fill("#code", code)
    page.click("button[type=submit]")
    assert page.url.endswith("/setup/admin")
    walk.check("setup-admin")
    page.fill("#name", "admin")
    page.fill("#password", PASSWORD)
    page.fill("#password2", PASSWORD)
    page.click("button[type=submit]")

    # every wizard step as it comes (the lab's committed config pre-fills them)
    seen = []
    while "/wizard/review" not in page.url:
        step = page.url.rstrip("/").rsplit("/", 1)[-1]
        assert "/wizard/" in page.url and step not in seen, f"the wizard went astray: {page.url}"
        seen.append(step)
        walk.check(f"wizard-{step}")
        page.click("button[value=next]")
    assert len(seen) >= 5, seen
    walk.check("wizard-review")
    page.click("button.primary")
    page.wait_for_selector("#result .success", timeout=60_000)
    walk.check("wizard-progress")

    # the dashboard; it refreshes in place (no reload, the reader keeps their place)
    page.click("text=Go to the status page")
    page.wait_for_selector("text=Recent changes")
    # a stale part and a stale state: both replaced, the state change announced
    page.evaluate("() => { window.__notReloaded = true; "
                  "document.querySelector('#live').insertAdjacentHTML('afterbegin', "
                  "'<p id=\"stale\">stale</p>'); "
                  "document.querySelector('#route-server td[data-announce]').textContent = "
                  "'Idle'; }")
    page.click("#refresh-now")
    page.wait_for_selector("#live[data-refreshed]")
    assert page.evaluate("() => window.__notReloaded === true"), "the page was reloaded"
    assert page.locator("#stale").count() == 0, "the status was not replaced"
    assert "Idle" not in page.inner_text("#route-server")
    assert page.inner_text("#live-news").startswith("The status changed")
    # parts that did not change stay the same elements (an alert is not read out again)
    stamp = page.get_attribute("#live", "data-refreshed")
    page.evaluate("() => { document.querySelector('#live > section:last-of-type').__kept = 1; }")
    page.click("#refresh-now")
    page.wait_for_function(f"() => document.querySelector('#live').dataset.refreshed != {stamp}")
    assert page.evaluate("() => document.querySelector('#live > section:last-of-type').__kept "
                         "=== 1"), "an unchanged part was replaced"
    assert "Recent changes" in page.inner_text("#live")
    assert "+00:00" not in page.inner_text("main"), "times must be in the box's time zone"
    walk.check("status")

    # members: the list, the form (new and edit), a change to review, then discarded
    page.click("nav >> text=Members")
    walk.check("members")
    page.click("text=Add member")
    walk.check("member-form-new")
    page.goto(url + "members/0/edit")
    walk.check("member-form-edit")
    page.fill("#f-name", "Island Telecom Ltd")
    page.click("button[value=save]")
    page.wait_for_selector("text=Review the change")
    walk.check("change-review")
    page.click("button:has-text('Discard')")

    # traffic and prefix graphs, and one member's page
    page.click("nav >> text=Traffic")
    page.wait_for_selector("svg.chart")
    walk.check("graphs-traffic")
    page.goto(url + "graphs?kind=prefixes")
    walk.check("graphs-prefixes")
    page.goto(url + "graphs/member/64496")
    page.wait_for_selector("#traffic svg.chart")
    walk.check("member-page")
    page.goto(url + "graphs")
    page.click("text=Traffic matrix")
    page.wait_for_selector("table.matrix")
    assert page.locator("table.matrix thead th").count() == 1 + 5, "a column per member"
    walk.check("traffic-matrix")
    page.goto(url + "firmware")  # off the image it says so, and offers no upload
    walk.check("firmware")
    page.goto(url + "alerts")
    walk.check("alerts")

    # the looking glass, one session's routes and a prefix search
    wait_for_sessions(page, url + "lg", 2)
    walk.check("lg-index")
    page.click("tbody tr a >> nth=0")
    page.wait_for_selector("#accepted")
    walk.check("lg-session")
    page.goto(url + "lg")
    page.fill("#q", "203.0.113.1")
    page.click("form[role=search] button")
    walk.check("lg-search")

    # history and a diff, users, the API reference, a page that does not exist
    page.click("nav >> text=History")
    walk.check("history")
    page.click("text=Diff with newest >> nth=0")
    page.wait_for_selector("pre.diff")
    walk.check("history-diff")
    page.click("nav >> text=Data")
    page.wait_for_selector("#rootzone")
    walk.check("data")
    page.click("nav >> text=Management")
    page.wait_for_selector("#management-state")
    walk.check("management")
    page.click("nav >> text=Users")
    walk.check("users")
    page.click("text=API reference")
    page.wait_for_selector("#schemas")
    walk.check("api-docs")
    # the operator guide served by the box, and this UI's page of it (with these screenshots)
    page.goto(url + "help/")
    walk.check("help")
    page.goto(url + "help/admin-ui.md")
    walk.check("help-admin-ui")
    missing = page.goto(url + "no-such-page")
    assert missing.status == 404
    walk.check("not-found")
    favicon = page.goto(url + "favicon.ico")
    assert favicon.status == 200 and "svg" in favicon.headers["content-type"]

    # and the login page, after logging out
    page.goto(url)
    page.click("text=Log out")
    page.wait_for_selector("#password")
    walk.check("login")

    # small copies for docs/img/pages/ (docs/admin-ui.md shows them)
    spare = page.context.new_page()
    made = docs_copies(spare, walk.screenshots, next(iter(walk.screenshots.values())).parent
                       / "docs")
    spare.close()
    assert len(made) == len(DOCS_PAGES)

    report = ARTIFACTS / "axe-every-page.json"
    report.write_text(json.dumps(walk.results, indent=1))
    assert not walk.csp_errors, walk.csp_errors
    # the policy is in force in this browser (axe came in through DevTools, not past it), and
    # a blocked script would have been noticed above: an inline one is refused and reported
    with page.expect_console_message(lambda m: "Content Security Policy" in m.text):
        page.evaluate("() => { const s = document.createElement('script'); "
                      "s.textContent = 'window.__inline = 1'; document.body.appendChild(s); }")
    assert page.evaluate("() => window.__inline === undefined")
    assert len(walk.csp_errors) == 1
    ours = {n: v for n, v in walk.results.items() if v and n not in OTHER_HELPER_PAGES}
    theirs = {n: v for n, v in walk.results.items() if v and n in OTHER_HELPER_PAGES}
    assert not ours and not theirs, (
        f"serious or critical axe violations (details in {report}):\n"
        f"pages of this change: {json.dumps(ours, indent=1)}\n"
        f"pages being rewritten elsewhere (OTHER_HELPER_PAGES): {json.dumps(theirs, indent=1)}")


def test_the_accessibility_check_finds_what_it_must(browser_page, axe_source):
    # the dashboard's old meta refresh (axe's one critical finding) and an image without a
    # text: the check above would report both
    browser_page.set_content('<!doctype html><html lang="en"><head><title>t</title>'
                             '<meta http-equiv="refresh" content="30"></head><body><main>'
                             '<h1>t</h1><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">'
                             '</main></body></html>')
    found = {v["id"] for v in axe_violations(browser_page, axe_source)}
    assert {"meta-refresh", "image-alt"} <= found, found
