"""The Alerts page, its settings through review → apply, the test-message button against a
real HTTP sink, ``GET /api/v1/alerts`` and ``ixpctl alerts``; model errors name the field."""

from __future__ import annotations

import json

import pytest
import yaml

from appliance.alerts.engine import AlertEngine
from appliance.alerts.store import AlertStore
from appliance.cli import main
from appliance.config.errors import ConfigError
from appliance.config.loader import config_from_data
from appliance.config.revisions import RevisionStore
from appliance.platform.target import Target
from tests.web.conftest import configured, csrf, form_fields, logged_in, wait_job  # noqa: F401

from .receivers import HttpSink
from .test_rules import snap

SECRET = "a-webhook-secret-0123"


def _form(page_html: str, **changes: str) -> dict[str, str]:
    """The settings form as the page fills it, with ``changes``."""
    import re

    from appliance.web.alerts import CHANNEL_FIELDS, rule_fields

    data = {"csrf_token": csrf(page_html)}
    for f in (*rule_fields(), *CHANNEL_FIELDS):
        fid = "f-" + f.key.replace(".", "-")
        if f.kind == "checkbox":
            if re.search(rf'id="{re.escape(fid)}" name="[^"]+" checked', page_html):
                data[f.key] = "on"
        elif f.kind == "select":
            m = re.search(rf'id="{re.escape(fid)}".*?<option value="([^"]*)" selected',
                          page_html, re.S)
            data[f.key] = m.group(1) if m else ""
        else:
            m = re.search(rf'id="{re.escape(fid)}" name="[^"]+" value="([^"]*)"', page_html)
            data[f.key] = m.group(1) if m else ""
    data.update(changes)
    return data


def _apply(client, resp) -> None:
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    review = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert SECRET not in review, "a secret in the review"
    job = wait_job(client, client.post("/changes/apply",
                                       data=form_fields(review, "/changes/apply"))
                   .headers["Location"])
    assert job["outcome"]["ok"], job


def test_model_defaults_and_errors_name_the_field(example_text):
    data = yaml.safe_load(example_text)
    cfg = config_from_data(data)
    assert cfg.alerts.enabled and cfg.alerts.rules.session_down.minutes == 5
    assert cfg.alerts.rules.disk_full.percent == 90
    bad = {**data, "alerts": {"email": {"enabled": True, "relay": "smtp.example.net"},
                              "rules": {"session_down": {"minutes": -1}},
                              "webhooks": [{"url": "ftp://x", "hmac_secret": "short"}]}}
    with pytest.raises(ConfigError) as err:
        config_from_data(bad)
    paths = {i.path for i in err.value.issues}
    assert "alerts.rules.session_down.minutes" in paths
    assert "alerts.webhooks[0].url" in paths and "alerts.webhooks[0].hmac_secret" in paths
    text = " ".join(i.message for i in err.value.issues)
    assert "set sender, recipients" in text
    managers = {**data, "alerts": {"snmp_managers": [
        {"host": "192.0.2.21"}, {"host": "192.0.2.22", "version": "v3", "user": "ixp",
                                 "auth_password": "long-auth-phrase"}]}}
    with pytest.raises(ConfigError) as err:
        config_from_data(managers)
    by_path = {i.path: i.message for i in err.value.issues}
    assert "needs a community" in by_path["alerts.snmp_managers[0]"]
    assert "needs priv_password" in by_path["alerts.snmp_managers[1]"]


def test_the_change_summary_never_shows_a_channel_secret(example_text):
    from appliance.config.summary import summarize

    data = yaml.safe_load(example_text)
    before = config_from_data(data)
    data["alerts"] = {"webhooks": [{"url": "https://chat.example.net/h",
                                    "hmac_secret": SECRET}],
                      "snmp_managers": [{"host": "192.0.2.21", "community": "trap-" + SECRET}]}
    text = " ".join(str(line) for line in summarize(before, config_from_data(data)))
    assert "https://chat.example.net/h" in text and "192.0.2.21" in text
    assert SECRET not in text and "(hidden)" in text


def test_page_settings_test_button_api_and_cli(configured, capsys):  # noqa: F811
    client = logged_in(configured)
    page = client.get("/alerts")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="no-open-alerts"' in html and "No channel is set up" in html
    assert 'name="rules.session_down.minutes" value="5"' in html

    with HttpSink() as sink:
        # a bad threshold is named next to its field; nothing is kept
        resp = client.post("/alerts", data=_form(html, **{
            "rules.disk_full.percent": "120", "webhooks.0.url": sink.url}))
        assert resp.status_code == 400
        assert 'id="f-rules-disk_full-percent-err"' in resp.get_data(as_text=True)
        # a webhook with a secret and a shorter hold, through review → apply
        resp = client.post("/alerts", data=_form(html, **{
            "rules.session_down.minutes": "2", "webhooks.0.url": sink.url,
            "webhooks.0.hmac_secret": SECRET}))
        _apply(client, resp)
        committed = yaml.safe_load(RevisionStore(configured).latest().config)
        assert committed["alerts"]["webhooks"] == [{"url": sink.url, "hmac_secret": SECRET}]
        assert committed["alerts"]["rules"]["session_down"]["minutes"] == 2
        assert committed["members"], "the members were lost"

        # the secret is never sent back; an unchanged form keeps it
        html = client.get("/alerts").get_data(as_text=True)
        assert SECRET not in html and 'id="test-webhook-0"' in html
        resp = client.post("/alerts", data=_form(html, **{"rules.port_down.minutes": "3"}))
        _apply(client, resp)
        committed = yaml.safe_load(RevisionStore(configured).latest().config)
        assert committed["alerts"]["webhooks"][0]["hmac_secret"] == SECRET

        # the test-message button
        resp = client.post("/alerts/test", data={"csrf_token": csrf(html),
                                                 "channel": "webhook:0"})
        assert resp.status_code == 303
        assert sink.event.wait(5)
        doc = json.loads(sink.requests[-1][2])
        assert doc["kind"] == "test"
        html = client.get("/alerts").get_data(as_text=True)
        assert "Test message sent on webhook:0" in html and 'id="alert-deliveries"' in html

        # an alert opens from a round of the engine (a plain snapshot: no lab here)
        engine = AlertEngine(Target(configured), has_system=False)
        settings = json.loads((configured / "etc" / "alerts" / "alerts.json").read_text())
        down = snap(ports=[{"port": "ixp1", "member": "AS64500 Alpha", "up": False}])
        engine.apply(snap(), settings, 1000.0)
        assert engine.apply(down, settings, 1060.0) == []  # held: 3 minutes
        events = engine.apply(down, settings, 1060.0 + 3 * 60)
        assert [e["alert"]["key"] for e in events] == ["port_down:ixp1"]
        assert json.loads(sink.requests[-1][2])["alert"]["key"] == "port_down:ixp1"

    html = client.get("/alerts").get_data(as_text=True)
    assert 'id="open-alerts"' in html, html[html.find("<main"):][:3000]
    assert "port is down" in html, html[html.find("open-alerts"):][:1500]
    assert '<span class="badge">1</span>' in html

    api = client.get("/api/v1/alerts").get_json()
    assert [a["key"] for a in api["open"]] == ["port_down:ixp1"]
    assert api["channels"] == [{"id": "webhook:0", "type": "webhook",
                                "target": sink.url + " (signed)"}]
    assert SECRET not in json.dumps(api)

    assert main(["alerts", "--state-dir", str(configured)]) == 0
    out = capsys.readouterr().out
    assert "port_down" in out and "channels: webhook:0" in out
    assert main(["alerts", "list", "--json", "--state-dir", str(configured)]) == 0
    assert json.loads(capsys.readouterr().out)["open"][0]["key"] == "port_down:ixp1"
    # the sink is gone: the CLI's test says it failed, and the log records it
    assert main(["alerts", "test", "webhook:0", "--state-dir", str(configured)]) == 1
    assert "webhook:0: FAILED" in capsys.readouterr().out
    assert AlertStore(configured).deliveries()["log"][-1]["ok"] is False
    assert main(["alerts", "test", "email", "--state-dir", str(configured)]) == 1
    assert "no channel 'email'" in capsys.readouterr().err
