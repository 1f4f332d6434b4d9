"""The status page and its JSON, behind the login."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
import urllib.request

from appliance.box import build_pipeline
from appliance.web import create_app


def test_fresh_box_leads_to_setup(tmp_path):
    c = create_app(tmp_path).test_client()
    assert c.get("/api/v1/status").status_code == 401
    for path in ("/", "/login", "/wizard/identity"):
        resp = c.get(path)
        assert resp.status_code == 302 and resp.headers["Location"].endswith("/setup"), path
    assert c.get("/healthz").status_code == 200


def test_status_after_login(client):
    page = client.get("/")
    assert b"Example Island Internet Exchange" in page.data
    assert b"Reef Networks" in page.data and b"first light" in page.data
    data = client.get("/api/v1/status").get_json()
    assert data["revision"]["id"] == 1 and len(data["members"]) == 5
    assert data["ixp"]["route_server"]["asn"] == 64511


def test_status_needs_login(configured):
    c = create_app(configured).test_client()
    assert c.get("/").headers["Location"].startswith("/login")
    assert c.get("/api/v1/status").status_code == 401


def test_security_headers_and_local_assets(client):
    resp = client.get("/")
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in resp.headers["Content-Security-Policy"]
    assert b"http://" not in resp.data and b"https://" not in resp.data  # no CDN
    assert client.get("/static/app.css").status_code == 200


def test_ixpctl_up_serves_and_stops_on_sigterm(configured):
    proc = subprocess.Popen([sys.executable, "-m", "appliance.cli", "up", "--state-dir",
                             str(configured), "--listen", "127.0.0.1:0"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        url = None
        while time.monotonic() < deadline and url is None:
            line = proc.stdout.readline()
            if "web UI: " in line:
                url = line.split("web UI: ")[1].split()[0]
        assert url, "ixpctl up never reported its URL"
        health = urllib.request.urlopen(url + "healthz", timeout=10).read()
        assert b'"ok":true' in health.replace(b" ", b"")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_anycast_state_on_the_dashboard_and_in_metrics(client, configured):
    # The anycast helper (another process on the image) publishes its state; the dashboard
    # and /metrics show it, and say so plainly when the helper is not running.
    import yaml

    from appliance.anycast.status import write_status
    from appliance.config.revisions import RevisionStore

    data = yaml.safe_load(RevisionStore(configured).latest().config)
    data["services"]["anycast"] = [{"prefix": "192.0.2.0/24"}]
    assert build_pipeline(configured).run(yaml.safe_dump(data), author="t").ok
    write_status(configured, [{
        "name": "192.0.2.0/24", "prefixes": ["192.0.2.0/24"], "state": "down",
        "announced": False, "callback_error": None, "checks_total": 7, "failures_total": 3,
        "transitions_total": 2, "last_check_at": "2026-11-23T22:00:00+00:00",
        "last_result": {"ok": False, "detail": "timeout", "rtt_ms": 2000.0},
        "transitions": [{"at": "2026-11-23T21:59:40+00:00", "old": "up", "new": "down",
                         "reason": "2 failed checks in a row (timeout)"}]}])
    page = client.get("/").data.decode()
    assert "192.0.2.0/24" in page and "withdrawn" in page
    # times in the box's time zone (the example says Pacific/Fiji, UTC+12)
    assert "up → down at 2026-11-24 09:59:40 +12: 2 failed checks in a row (timeout)" in page
    metrics = client.get("/metrics").data.decode()
    assert "ixp_anycast_helper_up 1.0" in metrics
    assert 'ixp_anycast_announced{prefix="192.0.2.0/24"} 0.0' in metrics
    assert 'ixp_anycast_check_failures_total{prefix="192.0.2.0/24"} 3.0' in metrics
    write_status(configured, [], running=False)
    assert "helper not running" in client.get("/").data.decode()
    assert "ixp_anycast_helper_up 0.0" in client.get("/metrics").data.decode()


def test_dashboard_refreshes_in_place_without_meta_refresh(client):
    page = client.get("/").data.decode()
    assert 'http-equiv="refresh"' not in page  # axe-core's one critical finding
    assert "<h1>Status</h1>" in page
    assert '<script src="/static/dashboard.js" defer></script>' in page
    assert "<script>" not in page  # nothing inline: the CSP allows only the box's own files
    assert 'id="live" data-refresh-seconds="30"' in page
    assert 'id="live-news" class="sr-only" role="status" aria-live="polite"' in page
    script = client.get("/static/dashboard.js")
    assert script.status_code == 200 and b"fetch(" in script.data
    assert b"getElementById(\"live\")" in script.data


def test_dashboard_shows_times_in_the_box_time_zone(client):
    page = client.get("/").data.decode()
    assert "+00:00" not in re.sub(r"<[^>]*>", "", page), "no UTC ISO strings on the dashboard"
    assert re.search(r"#1</strong> \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+12 · t · first light", page)
