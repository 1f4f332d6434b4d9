"""The members' monthly report card mail (``alerts/monthly.py``, ``web/report_mail.py``,
``ixpctl report mail``, the lab runner's ``ReportMailService``) against a real SMTP server on
loopback (aiosmtpd, STARTTLS with a certificate the test trusts, AUTH): every NOC gets its
report of the past month once, a failed delivery is tried again and shows in the delivery
log, an opted-out member and one without a NOC address get none, the member page shows when
it went and sends a test copy (admins only), and bad settings name their field.

The figures of a lab (real BIRD) and the French mail: ``tests/monitor/test_report_mail_lab.py``.
"""

from __future__ import annotations

import email
import email.policy
import fcntl
import os
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from appliance.alerts import monthly
from appliance.alerts.store import AlertStore
from appliance.box import build_pipeline
from appliance.cli import main
from appliance.config.committed import committed_config
from appliance.config.errors import ConfigError
from appliance.config.loader import config_from_data
from appliance.config.revisions import RevisionStore
from appliance.platform.target import Target
from appliance.runner import ReportMailService
from appliance.web.accounts import hash_password
from appliance.web.report_mail import composer
from tests.web.conftest import ADMIN, PASSWORD, configured, csrf, logged_in  # noqa: F401

from .receivers import SmtpServer

VIEWER, VIEWER_PASSWORD = "bob", "viewer pass phrase 42"
NOBODY = 65534  # stands in for ixp-collector, the owner of alerts/ on the image
OPS = "ops@ix.example.net"
# the example's members: AS64496 and AS64499 get the report; AS64497 opted out, AS64498 has
# no NOC address (set below); AS64500 gets it too
GETS = {64496: "noc@telecom.example.net", 64499: "netops@uei.example.edu",
        64500: "tech@nic.example"}


def _state(tmp_path: Path, example_text: str, smtp: SmtpServer, **report: object) -> Path:
    data = yaml.safe_load(example_text)
    data["admin_users"] = [
        {"name": ADMIN, "password_hash": hash_password(PASSWORD)},
        {"name": VIEWER, "password_hash": hash_password(VIEWER_PASSWORD), "role": "viewer"}]
    data["alerts"] = {"email": {"enabled": True, "relay": "127.0.0.1", "port": smtp.port,
                                "username": smtp.user, "smtp_password": smtp.password,
                                "sender": "ixp@ix.example.net", "recipients": [OPS]},
                      "monthly_report": dict(report)}
    data["members"][1]["monthly_report"] = False
    data["members"][2].pop("noc_email")
    state = tmp_path / "state"
    state.mkdir()
    out = build_pipeline(state).run(yaml.safe_dump(data), author="t", comment="first light")
    assert out.ok, out.error
    return state


def _parse(content: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(content, policy=email.policy.default)


def _subject(msg: email.message.EmailMessage) -> str:
    # a long subject is folded onto the next line whole; unfolded, that leaves a blank
    return " ".join(str(msg["Subject"]).split())


def _month_words(month: str) -> str:
    year, mon = month.split("-")
    return f"{datetime(int(year), int(mon), 1).strftime('%B')} {year}"


def test_bad_settings_name_their_field(example_text):
    data = yaml.safe_load(example_text)
    data["members"][0]["noc_email"] = "noc at telecom"
    data["members"][1]["monthly_report"] = "sometimes"
    data["alerts"] = {"monthly_report": {"enabled": "yes please", "day": 3}}
    with pytest.raises(ConfigError) as err:
        config_from_data(data)
    by_path = {i.path: i.message for i in err.value.issues}
    assert "not a valid e-mail address" in by_path["members[0].noc_email"], by_path
    assert "true or false" in by_path["members[1].monthly_report"], by_path
    assert "true or false" in by_path["alerts.monthly_report.enabled"], by_path
    assert "not a known setting" in by_path["alerts.monthly_report.day"], by_path
    # the defaults: on, but nothing goes out without the alert mail
    cfg = config_from_data(yaml.safe_load(example_text))
    assert cfg.alerts.monthly_report.enabled and cfg.members[0].monthly_report
    assert monthly.off_reason(cfg) == "no_mail"
    with pytest.raises(ValueError, match=r"alert mail is not set up \(alerts.email\)"):
        monthly.run(Target(Path("/nonexistent")), cfg, composer("en"))


def test_the_past_month_in_the_box_time_zone():
    fiji = ZoneInfo("Pacific/Fiji")  # UTC+12
    at = lambda *a: datetime(*a, tzinfo=UTC).timestamp()  # noqa: E731
    assert monthly.previous_month(at(2026, 11, 30, 13, 0), fiji) == "2026-11"  # 1 Dec there
    assert monthly.previous_month(at(2026, 11, 30, 11, 0), fiji) == "2026-10"
    assert monthly.previous_month(at(2027, 1, 1, 0, 0), ZoneInfo("UTC")) == "2026-12"
    start, end = monthly.month_bounds("2026-12", ZoneInfo("UTC"))
    assert (start, end) == (at(2026, 12, 1), at(2027, 1, 1))
    with pytest.raises(ValueError, match="YYYY-MM"):
        monthly.parse_month("2026-13")
    # outages: the part inside the month counts; another member's and other rules do not
    down = {"rule": "session_down", "asn": 64496}
    state = {"past": [{**down, "opened": start - 600, "resolved": start + 600},
                      {**down, "opened": start + 3600, "resolved": start + 3600 + 1800},
                      {**down, "opened": start - 7200, "resolved": start - 3600},
                      {**down, "asn": 64497, "opened": start + 10, "resolved": start + 9999},
                      {"rule": "port_down", "asn": 64496, "opened": start + 5,
                       "resolved": start + 500}],
             "open": {"x": {**down, "opened": end - 300, "resolved": None}}}
    assert monthly.session_outages(state, 64496, start, end) == {"count": 3, "minutes": 45}


def test_each_noc_gets_its_report_once_and_a_failure_is_retried(tmp_path, example_text,
                                                                  monkeypatch, capsys):
    smtp = SmtpServer(tmp_path)  # not listening yet: the first deliveries fail
    monkeypatch.setenv("SSL_CERT_FILE", str(smtp.cert))  # trust the test relay's certificate
    state = _state(tmp_path, example_text, smtp, copy_to_operator=True)
    cfg = committed_config(state)
    month = monthly.previous_month(time.time(), monthly.box_zone(cfg))
    # on the image alerts/ is the collector's (ixp-collector) and this runs as root: what it
    # writes there must stay the collector's, or its next round could not replace it
    (state / "alerts").mkdir(exist_ok=True)
    os.chown(state / "alerts", NOBODY, NOBODY)

    # 1. the relay is down: every member due fails, is logged and remembered for a retry
    first = monthly.run(Target(state), cfg, composer("en"))
    assert {o.asn: (o.to, o.status) for o in first} == {
        asn: ([noc], "failed") for asn, noc in GETS.items()}
    assert all("mail via 127.0.0.1" in o.error and "refused" in o.error.lower()
               for o in first), [o.error for o in first]
    log = AlertStore(state).deliveries()["log"]
    assert [(d["kind"], d["ok"], d["key"]) for d in log] == [
        ("report", False, f"report:AS{asn}:{month}") for asn in GETS]
    # the timer's command fails the same way (exit 1): the second try is counted
    assert main(["report", "mail", "--due", "--state-dir", str(state)]) == 1
    assert "failed" in capsys.readouterr().out
    record = monthly.read_record(state)
    assert record["sent"] == {}
    for name in ("monthly.json", "monthly.lock", "deliveries.json"):
        assert (state / "alerts" / name).stat().st_uid == NOBODY, name
    assert {a: f["tries"] for a, f in record["failed"].items()} == {str(a): 2 for a in GETS}
    admin = logged_in(state)
    page = admin.get("/member/64496").get_data(as_text=True)
    assert 'id="report-mail-failed"' in page and "try 2" in page
    alerts_page = admin.get("/alerts").get_data(as_text=True)
    assert f"monthly report {month} of AS64496" in alerts_page and "monthly report:" in alerts_page

    with smtp:
        # 2. the relay is back: the lab runner's round (the timer's twin) sends each once
        done = ReportMailService(Target(state)).check()
        assert {d["asn"]: d["status"] for d in done} == {a: "sent" for a in GETS}
        assert smtp.box.event.wait(10)
        got = {}
        for mail_from, rcpt, content, user in smtp.box.messages:
            msg = _parse(content)
            assert mail_from == "ixp@ix.example.net" and user == smtp.user
            got[msg["To"]] = (rcpt, msg)
        assert set(got) == set(GETS.values()), "AS64497 opted out, AS64498 has no NOC address"
        for asn, noc in GETS.items():
            rcpt, msg = got[noc]
            assert rcpt == [noc, OPS], "the operator's copy is a Bcc"
            assert OPS not in str(msg["To"]) and msg["Bcc"] is None
            name = next(m.name for m in cfg.members if m.asn == asn)
            assert _subject(msg) == (f"[EIIX] Report card of AS{asn} {name} for "
                                      f"{_month_words(month)}")
            assert msg["X-IXP-Report"] == f"AS{asn} {month}"
            assert msg["Reply-To"] == str(cfg.identity.contact_email)
            assert msg["Auto-Submitted"] == "auto-generated"
            text = msg.get_body(("plain",)).get_content()
            assert f"Report card of AS{asn} {name} for {_month_words(month)}" in text
            assert "Sessions with the route server" in text and "RPKI and IRR coverage" in text
            assert "The route server does not run." in text  # no lab here: no BIRD
        log = AlertStore(state).deliveries()["log"]
        assert [d["ok"] for d in log[-3:]] == [True] * 3 and log[-1]["try"] == 3
        record = monthly.read_record(state)
        assert record["failed"] == {}
        assert {a: s["months"] for a, s in record["sent"].items()} == {
            str(a): [month] for a in GETS}

        # 3. never twice: the timer's next run, a restart of the runner
        assert main(["report", "mail", "--due", "--state-dir", str(state)]) == 0
        assert capsys.readouterr().out.count("already sent") == len(GETS)
        assert {d["status"] for d in ReportMailService(Target(state)).check()} == {"already sent"}
        time.sleep(0.5)
        assert len(smtp.box.messages) == len(GETS)
        # two runs at once (the timer and a hand's --force): the second one waits its turn
        with open(state / "alerts" / "monthly.lock", "a") as held:
            fcntl.flock(held, fcntl.LOCK_EX)
            with pytest.raises(ValueError, match="another monthly report run is under way"):
                monthly.run(Target(state), cfg, composer("en"), force=True)
            fcntl.flock(held, fcntl.LOCK_UN)

        # 4. the page says when it went; the test copy goes to the operator, not the NOC
        page = admin.get("/member/64496").get_data(as_text=True)
        assert 'id="report-mail-last"' in page and f"the report of {month}" in page
        assert 'id="report-mail-failed"' not in page and 'id="report-mail-test"' in page
        opted = admin.get("/member/64497").get_data(as_text=True)
        assert "monthly_report: false" in opted
        assert "no NOC address" in admin.get("/member/64498").get_data(as_text=True)
        assert admin.post("/member/64496/report-mail/test").status_code == 400  # no CSRF
        resp = admin.post("/member/64496/report-mail/test", data={"csrf_token": csrf(page)})
        assert resp.status_code == 303
        assert f"Test report of {month} sent to {OPS}" in admin.get(
            resp.headers["Location"]).get_data(as_text=True)
        rcpt, test = smtp.box.messages[-1][1], _parse(smtp.box.messages[-1][2])
        assert rcpt == [OPS] and _subject(test).startswith("[TEST] [EIIX] Report card of AS64496")
        assert len(smtp.box.messages) == len(GETS) + 1
        assert monthly.read_record(state)["sent"]["64496"]["months"] == [month]
        assert AlertStore(state).deliveries()["log"][-1]["kind"] == "test"
        viewer = logged_in(state, VIEWER, VIEWER_PASSWORD)
        vpage = viewer.get("/member/64496").get_data(as_text=True)
        assert 'id="report-mail-last"' in vpage and 'id="report-mail-test"' not in vpage
        assert viewer.post("/member/64496/report-mail/test",
                           data={"csrf_token": csrf(vpage)}).status_code == 403

        # 5. the dry run prints the mail and sends nothing; an opted-out member is refused
        assert main(["report", "mail", "--dry-run", "--force", "--member", "64499",
                     "--state-dir", str(state)]) == 0
        out = capsys.readouterr().out
        assert "To: netops@uei.example.edu" in out and "Report card of AS64499" in out
        assert "dry run" in out
        assert main(["report", "mail", "--member", "64497", "--state-dir", str(state)]) == 1
        assert "no monthly report for AS64497" in capsys.readouterr().err
        time.sleep(0.5)
        assert len(smtp.box.messages) == len(GETS) + 1


def test_switched_off_nothing_goes_and_the_timer_is_quiet(tmp_path, example_text, monkeypatch,
                                                          capsys):
    with SmtpServer(tmp_path) as smtp:
        monkeypatch.setenv("SSL_CERT_FILE", str(smtp.cert))
        state = _state(tmp_path, example_text, smtp, enabled=False)
        assert main(["report", "mail", "--due", "--state-dir", str(state)]) == 0
        assert "the monthly report is off" in capsys.readouterr().out
        assert main(["report", "mail", "--state-dir", str(state)]) == 1
        assert "no monthly report is sent" in capsys.readouterr().err
        assert ReportMailService(Target(state)).check() == []
        page = logged_in(state).get("/member/64496").get_data(as_text=True)
        assert "switched off on the Alerts page" in page
        time.sleep(0.5)
        assert smtp.box.messages == [] and monthly.read_record(state)["sent"] == {}


def test_a_member_opts_out_on_its_form(configured):  # noqa: F811
    from tests.web.conftest import wait_job
    from tests.web.test_wizard_flow import _current_values

    from ..conftest import form_fields

    client = logged_in(configured)
    page = client.get("/members/0/edit")
    html = page.get_data(as_text=True)
    assert re.search(r'name="monthly_report"[^>]* checked', html), "on unless said off"
    values = _current_values(page.data)
    assert values.get("monthly_report") == "on"
    values.pop("monthly_report")  # the box cleared
    resp = client.post("/members/0/edit", data={**values, "action": "save",
                                                "csrf_token": csrf(page.data)})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    review = client.get("/changes/review").get_data(as_text=True)
    assert "monthly_report: false" in review
    job = wait_job(client, client.post("/changes/apply", data=form_fields(
        review, "/changes/apply")).headers["Location"])
    assert job["outcome"]["ok"], job
    cfg = committed_config(configured)
    assert cfg.members[0].monthly_report is False and cfg.members[1].monthly_report is True
    assert 64496 not in monthly.recipients(cfg) and 64497 in monthly.recipients(cfg)
    assert "monthly_report: false" in client.get("/member/64496").get_data(as_text=True)
    # ticked again: the default, so the setting leaves the file
    page = client.get("/members/0/edit")
    values = {**_current_values(page.data), "monthly_report": "on"}
    client.post("/members/0/edit", data={**values, "action": "save",
                                         "csrf_token": csrf(page.data)})
    review = client.get("/changes/review").get_data(as_text=True)
    job = wait_job(client, client.post("/changes/apply", data=form_fields(
        review, "/changes/apply")).headers["Location"])
    assert job["outcome"]["ok"], job
    latest = yaml.safe_load(RevisionStore(configured).latest().config)["members"][0]
    assert "monthly_report" not in latest
