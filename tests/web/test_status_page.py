"""The status page and its JSON, on a fresh state dir and after an apply."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.request

from appliance.pipeline.run import Pipeline
from appliance.web import create_app


def test_empty_state_dir_says_what_to_do(tmp_path):
    client = create_app(tmp_path).test_client()
    page = client.get("/")
    assert page.status_code == 200
    assert b"No configuration yet" in page.data and b"ixpctl apply" in page.data
    assert client.get("/api/v1/status").get_json()["revision"] is None


def test_status_after_apply(tmp_path, example_text):
    Pipeline(tmp_path).run(example_text, author="alice", comment="first light")
    client = create_app(tmp_path).test_client()
    page = client.get("/")
    assert b"Example Island Internet Exchange" in page.data
    assert b"Reef Networks" in page.data and b"first light" in page.data
    data = client.get("/api/v1/status").get_json()
    assert data["revision"]["id"] == 1 and len(data["members"]) == 5
    assert data["ixp"]["route_server"]["asn"] == 64511


def test_security_headers_and_local_assets(tmp_path):
    client = create_app(tmp_path).test_client()
    resp = client.get("/")
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in resp.headers["Content-Security-Policy"]
    assert b"http://" not in resp.data and b"https://" not in resp.data  # no CDN
    assert client.get("/static/app.css").status_code == 200


def test_ixpctl_up_serves_and_stops_on_sigterm(tmp_path, example_text):
    Pipeline(tmp_path).run(example_text, author="t")
    proc = subprocess.Popen([sys.executable, "-m", "appliance.cli", "up", "--state-dir",
                             str(tmp_path), "--listen", "127.0.0.1:0"],
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
        assert b'"ok": true' in health.replace(b'"ok":true', b'"ok": true')
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
