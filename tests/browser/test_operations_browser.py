"""Dashboard and traffic graphs in a real browser, with real lab traffic."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import yaml

from appliance.config.loader import load_config_text
from appliance.platform import netns
from appliance.web.accounts import hash_password

from .conftest import log_in, served_lab

PASSWORD = "operations pass phrase"
SPOOF = """
import socket
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
frame = bytes.fromhex("ffffffffffff" "02eeeeeeee99" "0800") + bytes(46)
for _ in range(3):
    s.send(frame)
"""


@pytest.fixture
def running_lab(root_required, tmp_path, example_text):
    data = yaml.safe_load(example_text)
    data["admin_users"] = [{"name": "noc", "password_hash": hash_password(PASSWORD)}]
    with served_lab(tmp_path, example_text, data, sample_interval=1.0) as (state, url):
        yield load_config_text(example_text), state, url


def test_dashboard_and_graphs(running_lab, browser_page, shots):
    cfg, state, url = running_lab
    # traffic between members for a few sampling rounds, plus a frame the hygiene rules drop
    flows = []
    for i, j in ((0, 1), (2, 3), (4, 0)):
        flows.append(subprocess.Popen(netns.command(state.members[i].netns, [
            "ping", "-q", "-c", "400", "-i", "0.01", "-s", "1200",
            str(cfg.members[j].ipv4[0])]), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL))
    deadline = time.monotonic() + 30
    for proc in flows:
        proc.wait(timeout=max(1, deadline - time.monotonic()))
    # three frames from a MAC address the first member did not register: the hygiene rules
    # drop them (reason src_mac), and the dashboard must say so in words
    subprocess.run(netns.command(state.members[0].netns, [sys.executable, "-c", SPOOF]),
                   check=True, timeout=30)
    time.sleep(2.5)  # let the collector take its next samples

    page = browser_page
    log_in(page, url, "noc", PASSWORD)
    page.wait_for_selector("text=Hygiene drops")
    rows = page.locator("#ports tbody tr")
    assert rows.count() == 5
    assert "up" in rows.first.inner_text()
    # the route server's own view: ten sessions (five members, two families), all up
    deadline = time.monotonic() + 60
    while page.locator("#route-server tbody tr", has_text="Established").count() < 10 \
            and time.monotonic() < deadline:
        time.sleep(1)
        page.reload()
    sessions = page.locator("#route-server tbody tr")
    assert sessions.count() == 10
    assert sessions.filter(has_text="Established").count() == 10
    assert "bit/s" in page.inner_text("main"), "traffic now must show a rate"
    first = page.locator("#ports tbody tr").first
    first.locator("summary").click()
    assert "frame from a MAC address that is not the member's" in first.inner_text()
    assert "src_mac" not in page.inner_text("main")
    shots(page, "dashboard")

    page.click("nav >> text=Traffic")
    page.wait_for_selector("svg.chart")
    assert page.locator("svg.chart").count() >= 6  # total + one per port
    assert page.locator("svg.chart polygon").count() >= 1
    shots(page, "graphs")
    page.click("text=packets")
    page.wait_for_selector("svg.chart")
    assert "pkt/s" in page.inner_text("main") or page.locator("svg.chart").count() >= 6
