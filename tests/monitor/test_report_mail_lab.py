"""The monthly report card mail from a lab with the real route server and member BIRDs, on a
French box, to a real SMTP relay on loopback: each NOC gets its figures of the past month
(sessions and prefixes as BIRD has them, filtered by reason, the month's traffic with its top
peers from the collector's samples, the session outages the alerts recorded) in French."""

from __future__ import annotations

import email
import email.policy
import re
import subprocess
import time
from datetime import date

import pytest
import yaml
from babel.dates import format_date

from appliance.alerts import monthly
from appliance.alerts.rules import empty_state
from appliance.alerts.store import AlertStore
from appliance.box import build_pipeline
from appliance.cli import main
from appliance.config.committed import committed_config
from appliance.monitor.store import PairSample, SampleStore, samples_path
from appliance.platform.target import Target
from appliance.route_server import daemon
from appliance.route_server.daemon import running_pid
from appliance.route_server.status import route_server_sessions
from appliance.web.accounts import hash_password

from ..alerts.receivers import SmtpServer
from .test_looking_glass_lab import _announce_bogon

pytestmark = pytest.mark.netns

V4 = "c64496_203_0_113_10"  # AS64496's IPv4 session
GB = 1_000_000_000


def _routes(socket: str) -> tuple[int, int] | None:
    out = subprocess.run(["birdc", "-s", socket, "show", "protocols", "all", V4], check=True,
                         capture_output=True, text=True, timeout=20).stdout
    m = re.search(r"Routes:\s+(\d+) imported, (\d+) filtered", out)
    return (int(m.group(1)), int(m.group(2))) if m else None


def _counts(state_dir, cfg) -> tuple[int, int]:
    """AS64496's routes accepted and filtered over all its sessions, as the report reads them."""
    sessions = [x for x in route_server_sessions(state_dir, cfg)["sessions"]
                if x["asn"] == 64496]
    return (sum(x.get("accepted") or 0 for x in sessions),
            sum(x.get("filtered") or 0 for x in sessions))


def test_a_french_box_mails_each_noc_its_month(lab, example_text, tmp_path, monkeypatch):
    _cfg, state, state_dir = lab
    with SmtpServer(tmp_path) as smtp:
        monkeypatch.setenv("SSL_CERT_FILE", str(smtp.cert))
        data = yaml.safe_load(example_text)
        data["admin_users"] = [{"name": "alice",
                                "password_hash": hash_password("monitor pass phrase")}]
        data["identity"]["language"] = "fr"
        data["alerts"] = {"email": {"enabled": True, "relay": "127.0.0.1", "port": smtp.port,
                                    "username": smtp.user, "smtp_password": smtp.password,
                                    "sender": "ixp@ix.example.net",
                                    "recipients": ["ops@ix.example.net"]}}
        out = build_pipeline(Target(state_dir, state.appliance_netns)).run(
            yaml.safe_dump(data), author="t")
        assert out.ok, out.error
        cfg = committed_config(state_dir)
        zone = monthly.box_zone(cfg)
        month = monthly.previous_month(time.time(), zone)
        start, end = monthly.month_bounds(month, zone)

        # the month's inputs the box keeps: traffic samples and a session outage
        store = SampleStore(samples_path(state_dir))
        rounds = [start + 2 * 86400 + i * 3600 for i in range(3)] + [end - 3600, end + 3600]
        counts = [(0, 0, 0), (GB, GB // 2, GB), (2 * GB, GB, 4 * GB),
                  (3 * GB, 3 * GB // 2, 9 * GB), (30 * GB, 30 * GB, 90 * GB)]
        for ts, (to_lagoon, from_reef, others) in zip(rounds, counts, strict=True):
            store.add_matrix(int(ts), [PairSample(64496, 64497, "ipv4", to_lagoon, 1),
                                       PairSample(64498, 64496, "ipv6", from_reef, 1),
                                       PairSample(64497, 64498, "ipv4", others, 1)])
        alerts = AlertStore(state_dir)
        st = empty_state()
        st["past"] = [{"rule": "session_down", "asn": 64496, "key": f"session_down:{V4}",
                       "opened": start + 86400, "resolved": start + 86400 + 45 * 60},
                      {"rule": "session_down", "asn": 64496, "key": f"session_down:{V4}",
                       "opened": start - 7200, "resolved": start - 3600}]  # the month before
        alerts.save_state(st)

        pid = running_pid(Target(state_dir, state.appliance_netns))
        assert pid, "the apply should have started the route server"
        try:
            socket = str(state_dir / "run" / "bird.ctl")
            _announce_bogon(state_dir, state)  # AS64496: one route accepted, one filtered
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline and (_routes(socket), _counts(state_dir, cfg)) \
                    != ((1, 1), (2, 1)):
                time.sleep(0.5)
            # its IPv4 session has both routes, and the IPv6 one its route too
            assert (_routes(socket), _counts(state_dir, cfg)) == ((1, 1), (2, 1))

            # what the timer runs: the lab's namespace is found from the state dir
            assert main(["report", "mail", "--due", "--state-dir", str(state_dir)]) == 0
            assert smtp.box.event.wait(10)
            time.sleep(0.5)
        finally:
            daemon.stop_bird(pid)

    mails = {}
    for _from, rcpt, content, _user in smtp.box.messages:
        msg = email.message_from_bytes(content, policy=email.policy.default)
        mails[tuple(rcpt)] = msg
    assert set(mails) == {(str(m.noc_email),) for m in cfg.members}, "one per NOC, no copy"
    msg = mails[("noc@telecom.example.net",)]
    y, mo = (int(p) for p in month.split("-"))
    mois = format_date(date(y, mo, 1), "LLLL y", locale="fr")
    assert " ".join(str(msg["Subject"]).split()) == \
        f"[EIIX] Bulletin de AS64496 Island Telecom pour {mois}"
    text = msg.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert f"Bulletin de AS64496 Island Telecom pour {mois}" in text
    assert "Sessions avec le serveur de routes" in text
    assert re.search(r"203\.0\.113\.10 : Established depuis le .+ ; 1 acceptés, 1 filtrés",
                     text), text
    assert "\n  2 acceptés, 1 filtrés.\n" in text and "Filtrés, par motif" in text  # v4 + v6
    assert re.search(r"\n  - [^\n:]+bogon[^\n:]*: 1\n", text, re.I), text
    assert "\n  - RPKI : " in text and "\n  - IRR : " in text
    assert f"Coupures de session en {mois} : 1, 45 minutes au total" in text
    # the month's traffic only: what was counted after its end is not in it, nor others' pairs
    assert f"Envoyé 3 GB, reçu 1,5 GB sur le LAN de peering en {mois}" in text, text
    assert "AS64497 Lagoon Broadband : 3 GB envoyés vers lui, 0 B reçus de lui." in text
    assert "AS64498 Reef Networks : 0 B envoyés vers lui, 1,5 GB reçus de lui." in text
    assert text.index("AS64497 Lagoon") < text.index("AS64498 Reef"), "busiest peer first"
    assert "9 GB" not in text and "30 GB" not in text
    assert "écrivez à noc@eiix.example.net" in text
    other = mails[("noc@lagoon.example.net",)].get_body(("plain",)).get_content().replace(
        "\r\n", "\n")
    assert "AS64496 Island Telecom : 0 B envoyés vers lui, 3 GB reçus de lui." in other
    assert f"Aucune coupure de session en {mois}." in other
    assert monthly.read_record(state_dir)["failed"] == {}
