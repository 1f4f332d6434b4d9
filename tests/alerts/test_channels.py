"""Each channel delivers to a real receiver on loopback; a failed delivery is retried and
recorded, and never raises into the collector."""

from __future__ import annotations

import email
import hashlib
import hmac
import json
import re

import pytest

from appliance.alerts import channels, engine
from appliance.alerts.store import AlertStore

from .receivers import HttpSink, SmtpServer, SyslogTcp, SyslogUdp, TrapDaemon, free_port

SETTINGS = {"ixp": "TIX", "hostname": "ixp-rs1", "quiet_minutes": 30, "rules": {},
            "channels": []}


def event(kind="firing", **alert):
    base = {"key": "session_down:m64500_4", "rule": "session_down", "severity": "warning",
            "text": "BGP session of AS64500 Alpha (ipv4, 192.0.2.10) is Active for more "
                    "than 5 min", "member": "Alpha", "asn": 64500, "port": "", "reason": "",
            "value": None, "details": {"protocol": "m64500_4", "neighbor": "192.0.2.10",
                                       "family": "ipv4"},
            "opened": 1_700_000_000.0, "resolved": None, "notified": True}
    base.update(alert)
    return {"kind": kind, "alert": base}


def test_email_through_starttls_and_auth(tmp_path, monkeypatch):
    with SmtpServer(tmp_path) as smtp:
        monkeypatch.setenv("SSL_CERT_FILE", str(smtp.cert))  # trust the test relay's cert
        channel = {"id": "email", "type": "email", "relay": "127.0.0.1", "port": smtp.port,
                   "starttls": True, "username": smtp.user, "password": smtp.password,
                   "sender": "ixp@example.net", "recipients": ["noc@example.net",
                                                              "ops@example.org"]}
        channels.send(channel, event(), SETTINGS)
        assert smtp.box.event.wait(10)
        mail_from, rcpt, content, user = smtp.box.messages[0]
        assert mail_from == "ixp@example.net" and user == "alerts"
        assert rcpt == ["noc@example.net", "ops@example.org"]
        msg = email.message_from_bytes(content)
        assert msg["Subject"].startswith("[TIX] FIRING warning: BGP session of AS64500 Alpha")
        assert msg["X-IXP-Alert"] == "session_down:m64500_4"
        assert "since:    2023-11-14T22:13:20+00:00" in msg.get_payload(decode=True).decode()

        # a wrong password: refused (aiosmtpd then drops the connection), nothing delivered
        wrong = {**channel, "password": "wrong-password"}
        with pytest.raises(channels.DeliveryError, match=r"mail via 127\.0\.0\.1"):
            channels.send(wrong, event(), SETTINGS)
        assert len(smtp.box.messages) == 1


def test_email_refuses_an_untrusted_certificate(tmp_path):
    with SmtpServer(tmp_path) as smtp:
        channel = {"id": "email", "type": "email", "relay": "127.0.0.1", "port": smtp.port,
                   "starttls": True, "username": smtp.user, "password": smtp.password,
                   "sender": "ixp@example.net", "recipients": ["noc@example.net"]}
        with pytest.raises(channels.DeliveryError, match="CERTIFICATE_VERIFY_FAILED"):
            channels.send(channel, event(), SETTINGS)
        assert smtp.box.messages == []


def test_webhook_json_with_a_valid_signature():
    secret = "0123456789abcdef-secret"
    with HttpSink() as sink:
        channels.send({"id": "webhook:0", "type": "webhook", "url": sink.url,
                       "secret": secret}, event("resolved", resolved=1_700_000_600.0),
                      SETTINGS)
        path, headers, body = sink.requests[0]
    assert path == "/hook" and headers["Content-Type"] == "application/json"
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers[channels.SIGNATURE_HEADER], expected)
    doc = json.loads(body)
    assert doc["kind"] == "resolved" and doc["ixp"] == "TIX"
    assert doc["alert"]["key"] == "session_down:m64500_4"
    assert doc["alert"]["resolved"] == "2023-11-14T22:23:20+00:00"


def test_webhook_unsigned_and_an_error_answer():
    with HttpSink(status=500) as sink:
        with pytest.raises(channels.DeliveryError, match="HTTP 500"):
            channels.send({"id": "webhook:0", "type": "webhook", "url": sink.url,
                           "secret": None}, event(), SETTINGS)
        assert channels.SIGNATURE_HEADER not in sink.requests[0][1]


RFC5424 = re.compile(rb"^<(\d+)>1 (\S+) (\S+) ixp-appliance - (\S+) (\[[^\]]*\]) \xef\xbb\xbf(.*)$",
                     re.S)


def test_syslog_udp_rfc5424():
    sink = SyslogUdp()
    try:
        channels.send({"id": "syslog:0", "type": "syslog", "host": "127.0.0.1",
                       "port": sink.port, "transport": "udp"},
                      event(severity="critical", rule="disk_full", key="disk_full",
                            text="the data disk is 95 % full"), SETTINGS)
        msg = sink.receive()
    finally:
        sink.close()
    m = RFC5424.match(msg)
    assert m, msg
    assert int(m[1]) == 16 * 8 + 2  # local0.crit
    assert re.fullmatch(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", m[2])
    assert m[3] == b"ixp-rs1" and m[4] == b"disk_full"
    assert m[5] == b'[ixpAlert@32473 kind="firing" key="disk_full" severity="critical"]'
    assert m[6].endswith(b"the data disk is 95 % full")


def test_syslog_tcp_octet_counting():
    sink = SyslogTcp()
    try:
        channels.send({"id": "syslog:1", "type": "syslog", "host": "127.0.0.1",
                       "port": sink.port, "transport": "tcp"}, event("resolved"), SETTINGS)
        data = sink.receive()
    finally:
        sink.close()
    length, _, msg = data.partition(b" ")
    assert int(length) == len(msg)
    m = RFC5424.match(msg)
    assert m and int(m[1]) == 16 * 8 + 5  # a resolution is a notice


def test_snmp_traps_reach_snmptrapd(tmp_path):
    with TrapDaemon(tmp_path) as trapd:
        ch = {"id": "snmp:0", "type": "snmp", "host": "127.0.0.1", "port": trapd.port,
              "community": trapd.community}
        channels.send(ch, event("firing"), SETTINGS)  # BGP4-MIB backward transition
        log = trapd.wait_for(".1.3.6.1.2.1.15.0.2")
        assert ".1.3.6.1.2.1.15.3.1.2.192.0.2.10 = INTEGER: 1" in log
        channels.send(ch, event("resolved"), SETTINGS)
        log = trapd.wait_for(".1.3.6.1.2.1.15.0.1")
        assert ".1.3.6.1.2.1.15.3.1.2.192.0.2.10 = INTEGER: 6" in log
        port = event("firing", rule="port_down", key="port_down:ixp1", port="ixp1",
                     text="port ixp1 of AS64500 Alpha is down", details={"ifindex": 4})
        channels.send(ch, port, SETTINGS)
        log = trapd.wait_for(".1.3.6.1.6.3.1.1.5.3")  # IF-MIB linkDown
        assert ".1.3.6.1.2.1.2.2.1.8.4 = INTEGER: 2" in log
        channels.send(ch, event("firing", rule="disk_full", key="disk_full",
                                text="the data disk is 95 % full"), SETTINGS)
        log = trapd.wait_for(".1.3.6.1.4.1.8072.9999.9999.18.0.1")
        assert '.1.3.6.1.4.1.8072.9999.9999.18.1.3 = STRING: "the data disk is 95 % full"' \
            in log
        # a wrong community is dropped by snmptrapd: nothing new logged
        before = trapd.log.read_text()
        channels.send({**ch, "community": "not-the-community"},
                      event("firing", rule="disk_full", key="other"), SETTINGS)
        channels.send(ch, event("event", rule="config_applied", key="config_applied:9",
                                text="configuration revision 9 applied"), SETTINGS)
        log = trapd.wait_for(".1.3.6.1.4.1.8072.9999.9999.18.0.3")
        assert '"other"' not in log[len(before):]


def test_snmpv3_informs_are_acknowledged_by_snmptrapd(tmp_path):
    with TrapDaemon(tmp_path) as trapd:
        ch = {"id": "snmp:1", "type": "snmp", "host": "127.0.0.1", "port": trapd.port,
              "version": "v3", "user": trapd.V3_USER, "auth_protocol": "SHA-256",
              "auth_password": trapd.V3_AUTH, "priv_protocol": "AES-128",
              "priv_password": trapd.V3_PRIV}
        channels.send(ch, event("firing"), SETTINGS)  # returns once acknowledged
        log = trapd.wait_for(".1.3.6.1.2.1.15.0.2")
        assert ".1.3.6.1.2.1.15.3.1.2.192.0.2.10 = INTEGER: 1" in log
        assert 'STRING: "session_down:m64500_4"' in log
        # a wrong privacy pass phrase: snmptrapd cannot decrypt it, nothing is acknowledged
        with pytest.raises(channels.DeliveryError, match=r"SNMPv3 inform to 127\.0\.0\.1"):
            channels.send({**ch, "priv_password": "not-the-pass-phrase"},
                          event("firing", key="never-logged"), SETTINGS)
        assert "never-logged" not in trapd.log.read_text()


def test_a_failed_delivery_is_retried_then_recorded(tmp_path):
    store = AlertStore(tmp_path)
    with HttpSink() as sink:
        dead = f"http://127.0.0.1:{free_port()}/hook"  # nobody listens there
        settings = {**SETTINGS, "channels": [{"id": "webhook:0", "type": "webhook",
                                              "url": dead, "secret": None}]}
        engine.deliver(store, settings, [event()], 1000.0)
        log = store.deliveries()
        assert [e["ok"] for e in log["log"]] == [False]
        assert "Connection refused" in log["log"][0]["error"]
        assert log["queue"][0]["next"] == 1000.0 + engine.BACKOFF
        engine.deliver(store, settings, [], 1030.0)  # not due yet: not tried
        assert len(store.deliveries()["log"]) == 1
        # the receiver is back (same channel id, now reachable): the retry goes out
        settings["channels"][0]["url"] = sink.url
        engine.deliver(store, settings, [], 1061.0)
        log = store.deliveries()
        assert [e["ok"] for e in log["log"]] == [False, True] and log["queue"] == []
        assert json.loads(sink.requests[0][2])["alert"]["key"] == "session_down:m64500_4"
    # retries end: after RETRIES more tries the delivery is given up, and recorded
    settings = {**SETTINGS, "channels": [{"id": "webhook:0", "type": "webhook",
                                          "url": dead, "secret": None}]}
    engine.deliver(store, settings, [event()], 2000.0)
    now = 2000.0
    for _ in range(engine.RETRIES + 2):
        now += 100_000
        engine.deliver(store, settings, [], now)
    log = store.deliveries()
    assert log["queue"] == []
    assert [e["try"] for e in log["log"][2:]] == list(range(1, engine.RETRIES + 2))


def test_a_sender_bug_does_not_raise(tmp_path, monkeypatch):
    def broken(channel, ev, settings):
        raise KeyError("relay")
    monkeypatch.setitem(channels.SENDERS, "email", broken)
    store = AlertStore(tmp_path)
    engine.deliver(store, {**SETTINGS, "channels": [{"id": "email", "type": "email"}]},
                   [event()], 10.0)
    assert store.deliveries()["log"][0]["error"] == "KeyError: 'relay'"
