"""The Alerts page in a real browser: open and past alerts listed, the test-message button
delivering to a real HTTP sink, the failure of a dead channel shown, no serious axe
violations."""

from __future__ import annotations

import json

import yaml

from appliance.alerts.engine import AlertEngine
from appliance.box import build_pipeline
from appliance.platform.target import Target
from appliance.web.accounts import hash_password

from ..alerts.receivers import HttpSink, free_port
from ..alerts.test_rules import snap
from .conftest import axe_violations, log_in
from .test_backup_browser import serving

ADMIN, PASSWORD = "noc", "island exchange first light"


def test_alerts_page_lists_alerts_and_sends_a_test_message(browser_page, shots, tmp_path,
                                                          example_text, axe_source):
    with HttpSink() as sink:
        data = yaml.safe_load(example_text)
        data["admin_users"] = [{"name": ADMIN, "password_hash": hash_password(PASSWORD)}]
        data["alerts"] = {"rules": {"port_down": {"minutes": 0}},
                          "webhooks": [{"url": sink.url},
                                       {"url": f"http://127.0.0.1:{free_port()}/gone"}]}
        assert build_pipeline(tmp_path).run(yaml.safe_dump(data), author="noc",
                                            comment="first light").ok
        # two rounds of the engine on plain snapshots (no lab): a port that went down and
        # came back (past), a disk that is full (open)
        engine = AlertEngine(Target(tmp_path), has_system=False)
        settings = json.loads((tmp_path / "etc" / "alerts" / "alerts.json").read_text())
        down = [{"port": "ixp1", "member": "AS64496 Island Telecom", "up": False}]
        engine.apply(snap(), settings, 1_764_570_000.0)
        engine.apply(snap(ports=down, disk_percent=95.0), settings, 1_764_570_060.0)
        engine.apply(snap(disk_percent=95.0), settings, 1_764_570_120.0)
        sink.requests.clear()

        page = browser_page
        with serving(tmp_path) as url:
            log_in(page, url, ADMIN, PASSWORD)
            page.click("nav >> text=Alerts")
            assert page.url.endswith("/alerts")
            assert page.inner_text("nav a[aria-current=page] .badge") == "1"
            open_rows = page.locator("#open-alerts tbody tr")
            assert open_rows.count() == 1
            assert "The data disk is almost full" in open_rows.inner_text()
            assert "the data disk is 95 % full" in open_rows.inner_text()
            past = page.locator("#past-alerts tbody tr")
            assert past.count() == 1
            assert "A member's port is down" in past.inner_text()
            assert "AS64496 Island Telecom, port ixp1" in past.inner_text()
            assert page.locator("#alert-channels tbody tr").count() == 2
            shots(page, "alerts-page")
            # the top of the page, as docs/alerts.md shows it (docs/img/alerts/alerts.png)
            page.screenshot(path=str(shots(page, "alerts-docs").with_name("alerts-docs.png")),
                            clip={"x": 0, "y": 0, "width": 1280, "height": 900})
            assert axe_violations(page, axe_source) == []

            page.click("#test-webhook-0")
            page.wait_for_selector("text=Test message sent on webhook:0.")
            assert sink.event.wait(5)
            assert json.loads(sink.requests[0][2])["kind"] == "test"
            assert "test message" in page.inner_text("#alert-deliveries tbody tr >> nth=0")

            page.click("#test-webhook-1")
            page.wait_for_selector("text=The test message on webhook:1 failed")
            assert "Connection refused" in page.inner_text("#alert-deliveries tbody tr >> nth=0")
            shots(page, "alerts-test-failed")
