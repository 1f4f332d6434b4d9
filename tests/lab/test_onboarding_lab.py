"""Onboarding in the lab (issue 18 item 4): two new members start in quarantine. The one whose
router behaves goes from red to green by itself and is released with one click (the history
says who released it); the one that sends IPv6 router advertisements stays red, with the
reason in words, and cannot be released."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import pytest
import yaml
from scapy.layers.inet6 import ICMPv6ND_RA, ICMPv6NDOptSrcLLAddr, IPv6
from scapy.layers.l2 import Ether

from appliance.config.loader import load_config_text
from appliance.config.revisions import RevisionStore
from appliance.lab.lab import LabState
from appliance.monitor.looking_glass import LookingGlass
from appliance.platform import netns
from appliance.platform.target import Target
from appliance.web import create_app
from appliance.web.accounts import hash_password
from appliance.web.irr_status import import_bytes
from labkit.frames import Sender

from ..browser.conftest import served_lab
from ..conftest import EXAMPLE, form_fields
from ..web.conftest import csrf, wait_job

pytestmark = [pytest.mark.netns, pytest.mark.slow]

ADMIN, PASSWORD = "noc", "correct horse battery staple"
GOOD = {"asn": 64501, "name": "Coral Cloud", "ports": ["ixp3"], "macs": ["02:00:5e:10:00:06"],
        "ipv4": ["203.0.113.15"], "ipv6": ["2001:db8:eeee::15"], "quarantine": True}
NOISY = {"asn": 64502, "name": "Noisy Net", "ports": ["ixp4"], "macs": ["02:00:5e:10:00:07"],
         "ipv4": ["203.0.113.16"], "ipv6": ["2001:db8:eeee::16"], "quarantine": True}
QUIET = 4  # seconds without drops the hygiene check needs here (10 minutes on a real box)


def _irr(slot: int, asn: int) -> dict:
    # what the lab router of that slot announces (lab/member_router.py member_prefixes)
    return {"asns": [asn], "ipv4": [{"prefix": f"31.{slot}.{k}.0/24", "exact": True}
                                 for k in range(2)],
            "ipv6": [{"prefix": f"2a0c:{slot + 1:x}:{k:x}::/48", "exact": True}
                     for k in range(2)], "source": "lab", "fetched_at": "2026-01-01T00:00:00Z"}


def _config() -> dict:
    data = yaml.safe_load(EXAMPLE.read_text())
    data["members"] = [*data["members"][:2], GOOD, NOISY]
    data["admin_users"] = [{"name": ADMIN, "password_hash": hash_password(PASSWORD)}]
    return data


def _checks(client, asn: int) -> dict:
    resp = client.get(f"/api/v1/members/{asn}/onboarding")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_json()


def _by_key(result: dict) -> dict:
    return {c["check"]: c for c in result["checks"]}


def _wait(client, asn: int, want, what: str, timeout: float = 150) -> dict:
    deadline = time.monotonic() + timeout
    result = _checks(client, asn)
    while not want(result) and time.monotonic() < deadline:
        time.sleep(1)
        result = _checks(client, asn)
    assert want(result), f"{what}: {json.dumps(result['checks'], indent=1)}"
    return result


def _ixpctl(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "appliance.cli", *args], capture_output=True,
                          text=True, timeout=120, env={**os.environ, **(env or {})})


def _in_main_table(state_dir, prefix: str) -> bool:
    glass = LookingGlass(state_dir, 64511)
    return any(not r["filtered"] and r["table"].startswith("master")
               for r in glass.lookup(prefix))


def test_new_member_goes_from_red_to_green_and_is_released(root_required, tmp_path):
    data = _config()
    # IRR data for both newcomers: their lab routers' prefixes are registered
    irr = {"AS64501": _irr(2, 64501), "AS64502": _irr(3, 64502)}
    import_bytes(tmp_path, json.dumps(irr).encode(), "lab.json")
    with served_lab(tmp_path, yaml.safe_dump(data), data) as (state, _url):
        lab = {lm.asn: lm for lm in LabState.load(tmp_path).members}
        app = create_app(Target(tmp_path, state.appliance_netns),
                         {"ONBOARDING_QUIET_SECONDS": QUIET})
        client = app.test_client()
        page = client.get("/login")
        assert client.post("/login", data={"name": ADMIN, "password": PASSWORD,
                                           "csrf_token": csrf(page.data)}).status_code == 302

        # Red at first: the router has just come up (its IPv6 stack solicits routers, the
        # session is not up yet), and the page says what to fix.
        first = _checks(client, GOOD["asn"])
        assert first["quarantine"] and not first["ready"]
        red = [c for c in first["checks"] if not c["ok"]]
        assert red and all(f["text"] for c in red for f in c["findings"])

        # The noisy member's router sends router advertisements, once a second.
        stop = threading.Event()
        noisy_ns, mac = lab[NOISY["asn"]].netns, NOISY["macs"][0]
        ra = bytes(Ether(src=mac, dst="33:33:00:00:00:01")
                   / IPv6(src="fe80::5eff:fe10:7", dst="ff02::1", hlim=255)
                   / ICMPv6ND_RA() / ICMPv6NDOptSrcLLAddr(lladdr=mac))
        sender = Sender(noisy_ns)

        def advertise() -> None:
            while not stop.wait(1.0):
                sender.send(ra)
        thread = threading.Thread(target=advertise, daemon=True)
        thread.start()
        try:
            # The well-behaved member is a router: no router solicitations from it any more
            # (what its operator would configure); after the quiet period all is green.
            netns.run(lab[GOOD["asn"]].netns, ["sysctl", "-qw",
                                               "net.ipv6.conf.all.forwarding=1"])
            green = _wait(client, GOOD["asn"], lambda r: r["ready"], "AS64501 never green")
            checks = _by_key(green)
            assert set(checks) == {"link", "macs", "hygiene", "neighbours", "bgp", "routes",
                                   "max_prefix"}
            assert checks["routes"]["notes"][0]["code"] == "announced"
            # in quarantine its routes are checked but reach nobody
            assert not _in_main_table(tmp_path, "31.2.0.0/24")

            noisy = _checks(client, NOISY["asn"])
            hygiene = _by_key(noisy)["hygiene"]
            assert not noisy["ready"] and not hygiene["ok"]
            ra_finding = next(f for f in hygiene["findings"] if f["reason"] == "ra")
            assert "IPv6 router advertisement" in ra_finding["text"]
            # the rest of its connection is fine: only the advertisements keep it red
            assert _by_key(noisy)["bgp"]["ok"] and _by_key(noisy)["neighbours"]["ok"]

            # ixpctl says the same, in the operator's language, and exits 3 while red
            cli = _ixpctl("member", "onboarding", str(NOISY["asn"]), "--state-dir",
                          str(tmp_path), "--netns", state.appliance_netns, "--quiet-minutes",
                          str(QUIET / 60), env={"LANG": "fr_FR.UTF-8"})
            assert cli.returncode == 3, cli.stdout + cli.stderr
            assert "Aucune trame rejetée par les règles du LAN d'échange" in cli.stdout
            assert "annonce de routeur IPv6" in cli.stdout
            cli = _ixpctl("member", "onboarding", str(GOOD["asn"]), "--state-dir",
                          str(tmp_path), "--netns", state.appliance_netns, "--json",
                          "--quiet-minutes", str(QUIET / 60))
            assert cli.returncode == 0 and json.loads(cli.stdout)["ready"], cli.stdout

            # The page says it too, and offers no release; a release is refused anyway.
            html = client.get(f"/member/{NOISY['asn']}/onboarding").get_data(as_text=True)
            assert "IPv6 router advertisement" in html and 'id="release" disabled' in html
            refused = client.post(f"/member/{NOISY['asn']}/release",
                                  data=form_fields(html, f"/member/{NOISY['asn']}/release"))
            assert refused.status_code == 302
            assert "Not released" in client.get(refused.headers["Location"]).get_data(
                as_text=True)
            committed = load_config_text(RevisionStore(tmp_path).latest().config)
            assert all(m.quarantine for m in committed.member_by_asn(NOISY["asn"]))

            # One click releases the green one, through the change flow.
            html = client.get(f"/member/{GOOD['asn']}/onboarding").get_data(as_text=True)
            assert 'id="release"' in html and 'id="release" disabled' not in html
            resp = client.post(f"/member/{GOOD['asn']}/release",
                               data=form_fields(html, f"/member/{GOOD['asn']}/release"))
            assert resp.status_code == 302 and "/changes/apply/" in resp.headers["Location"]
            job = wait_job(client, resp.headers["Location"], timeout=120)
            assert job["outcome"]["ok"], job
        finally:
            stop.set()
            thread.join(5)
            sender.close()

        latest = RevisionStore(tmp_path).latest()
        assert latest.author == ADMIN and "release AS64501" in latest.comment
        cfg = load_config_text(latest.config)
        assert not any(m.quarantine for m in cfg.member_by_asn(GOOD["asn"]))
        assert all(m.quarantine for m in cfg.member_by_asn(NOISY["asn"]))
        history = client.get("/history").get_data(as_text=True)
        assert "release AS64501" in history and ADMIN in history
        # released: the checklist still green, and the port no longer in quarantine
        after = _checks(client, GOOD["asn"])
        assert not after["quarantine"]
        # released: the route server now passes its routes on to the other members
        deadline = time.monotonic() + 60
        while not _in_main_table(tmp_path, "31.2.0.0/24") and time.monotonic() < deadline:
            time.sleep(1)
        assert _in_main_table(tmp_path, "31.2.0.0/24")
        assert not _in_main_table(tmp_path, "31.3.0.0/24")  # the noisy one's: still held back
