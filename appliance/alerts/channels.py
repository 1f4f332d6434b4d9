"""The delivery tools: e-mail (smtplib), webhook (JSON POST), syslog (RFC 5424) and SNMPv2c
traps. Each ``send_*`` delivers one event to one channel or raises ``DeliveryError`` saying
why; retrying and recording is the engine's job (``engine.py``).

An event is ``{"kind": "firing" | "resolved" | "event" | "test", "alert": {...}}`` as
``rules.evaluate`` makes it; the texts sent are English (what a NOC's tools match on).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import socket
import time
from datetime import UTC, datetime
from ipaddress import ip_address
from typing import Any

from appliance import __version__
from appliance.platform import mail
from appliance.platform.mail import DeliveryError  # the one error of every sender here
from appliance.snmp import ber

TIMEOUT = mail.TIMEOUT
SIGNATURE_HEADER = "X-IXP-Signature"

# syslog: facility local0; severity by the alert's (RFC 5424 section 6.2.1)
FACILITY = 16
SYSLOG_SEVERITY = {"critical": 2, "warning": 4, "notice": 5, "info": 6}
# RFC 5612's documentation enterprise number: the project has no private one yet
SD_ID = "ixpAlert@32473"

# SNMP (RFC 3416 SNMPv2-Trap-PDU)
TRAP_PDU = 0xA7
TIMETICKS = 0x43
SYS_UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)
SNMP_TRAP_OID = (1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0)
BGP_ESTABLISHED = (1, 3, 6, 1, 2, 1, 15, 0, 1)  # BGP4-MIB bgpEstablishedNotification
BGP_BACKWARD = (1, 3, 6, 1, 2, 1, 15, 0, 2)  # BGP4-MIB bgpBackwardTransNotification
BGP_PEER_STATE = (1, 3, 6, 1, 2, 1, 15, 3, 1, 2)  # .a.b.c.d
BGP_PEER_LAST_ERROR = (1, 3, 6, 1, 2, 1, 15, 3, 1, 14)
LINK_DOWN = (1, 3, 6, 1, 6, 3, 1, 1, 5, 3)  # IF-MIB linkDown
LINK_UP = (1, 3, 6, 1, 6, 3, 1, 1, 5, 4)  # IF-MIB linkUp
IF_INDEX, IF_ADMIN, IF_OPER = ((1, 3, 6, 1, 2, 1, 2, 2, 1, n) for n in (1, 7, 8))
# Our own notifications, under NET-SNMP's playpen (NET-SNMP-MIB netSnmpPlaypen) like the
# agent's sysObjectID sits under NET-SNMP's tree: the project has no enterprise number yet.
IXP_ALERTS = (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 18)
IXP_NOTIFICATION = {"firing": (*IXP_ALERTS, 0, 1), "resolved": (*IXP_ALERTS, 0, 2),
                    "event": (*IXP_ALERTS, 0, 3), "test": (*IXP_ALERTS, 0, 4)}
IXP_RULE, IXP_SEVERITY, IXP_TEXT, IXP_KEY = ((*IXP_ALERTS, 1, n) for n in (1, 2, 3, 4))
_START = time.monotonic()


def subject(event: dict[str, Any], ixp: str = "") -> str:
    """``[IXP] FIRING warning: <text>`` (one line, for a mail subject or a chat message)."""
    a = event["alert"]
    head = {"firing": "FIRING", "resolved": "RESOLVED", "event": "EVENT",
            "test": "TEST"}.get(event["kind"], event["kind"].upper())
    text = " ".join(str(a.get("text", "")).split())
    return f"[{ixp or 'IXP'}] {head} {a.get('severity', 'info')}: {text}"[:250]


def _when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds") if ts else "-"


def body(event: dict[str, Any], settings: dict[str, Any]) -> str:
    """The mail's text: what, since when, on which box."""
    a = event["alert"]
    lines = [str(a.get("text", "")), "",
             f"state:    {event['kind']}", f"severity: {a.get('severity', '')}",
             f"alert:    {a.get('key', '')}", f"since:    {_when(a.get('opened'))}"]
    if event["kind"] == "resolved":
        lines.append(f"resolved: {_when(a.get('resolved'))}")
    lines += ["", f"-- {settings.get('hostname') or socket.gethostname()} "
                  f"({settings.get('ixp', '')}), ixp-appliance {__version__}",
              "The open and past alerts: the admin UI's Alerts page, or 'ixpctl alerts'."]
    return "\n".join(lines) + "\n"


def payload(event: dict[str, Any], settings: dict[str, Any], now: float) -> dict[str, Any]:
    """The webhook's JSON document."""
    return {"version": 1, "kind": event["kind"], "ixp": settings.get("ixp", ""),
            "host": settings.get("hostname", ""), "sent_at": _when(now),
            "subject": subject(event, settings.get("ixp", "")),
            "alert": {**event["alert"], "opened": _when(event["alert"].get("opened")),
                      "resolved": (_when(event["alert"]["resolved"])
                                   if event["alert"].get("resolved") else None)}}


def signature(secret: str, data: bytes) -> str:
    """The webhook signature header's value: ``sha256=<hex HMAC-SHA256 of the body>``."""
    return "sha256=" + hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()


def send_email(channel: dict[str, Any], event: dict[str, Any], settings: dict[str, Any]
               ) -> None:
    """Through the configured relay (``platform/mail.py``: STARTTLS with the certificate
    checked, login when set)."""
    msg = mail.message(channel["sender"], channel["recipients"],
                       subject(event, settings.get("ixp", "")), body(event, settings),
                       headers={"X-IXP-Alert": str(event["alert"].get("key", ""))})
    mail.send(mail.Relay.from_channel(channel), msg)


def send_webhook(channel: dict[str, Any], event: dict[str, Any], settings: dict[str, Any]
                 ) -> None:
    """A JSON POST; signed when the channel has a secret. Any 2xx answer is a success."""
    import urllib.error  # when an alert goes out (see send_email)
    import urllib.request

    data = json.dumps(payload(event, settings, time.time()), sort_keys=True).encode()
    headers = {"Content-Type": "application/json",
               "User-Agent": f"ixp-appliance/{__version__}"}
    if channel.get("secret"):
        headers[SIGNATURE_HEADER] = signature(channel["secret"], data)
    req = urllib.request.Request(channel["url"], data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:
            if not 200 <= resp.status < 300:
                raise DeliveryError(f"webhook {channel['url']}: HTTP {resp.status}")
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"webhook {channel['url']}: HTTP {exc.code}") from None
    except urllib.error.URLError as exc:
        raise DeliveryError(f"webhook {channel['url']}: {exc.reason}") from None
    except OSError as exc:
        raise DeliveryError(f"webhook {channel['url']}: {exc}") from None


def _sd_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def syslog_message(event: dict[str, Any], settings: dict[str, Any], now: float) -> bytes:
    """One RFC 5424 message: facility local0, the alert's severity, structured data with the
    alert's key and state, the text as MSG."""
    a = event["alert"]
    sev = 5 if event["kind"] == "resolved" else SYSLOG_SEVERITY.get(a.get("severity", ""), 6)
    host = (settings.get("hostname") or socket.gethostname() or "-")[:255]
    msgid = (str(a.get("rule") or "alert") or "-")[:32]
    sd = (f'[{SD_ID} kind="{_sd_escape(event["kind"])}" key="{_sd_escape(str(a.get("key")))}"'
          f' severity="{_sd_escape(str(a.get("severity", "")))}"]')
    stamp = datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")
    text = subject(event, settings.get("ixp", ""))
    return (f"<{FACILITY * 8 + sev}>1 {stamp} {host} ixp-appliance - {msgid} {sd} "
            .encode() + b"\xef\xbb\xbf" + text.encode())


def send_syslog(channel: dict[str, Any], event: dict[str, Any], settings: dict[str, Any]
                ) -> None:
    """UDP (one datagram) or TCP (RFC 6587 octet counting)."""
    msg = syslog_message(event, settings, time.time())
    host, port = channel["host"], int(channel["port"])
    try:
        if channel.get("transport") == "tcp":
            with socket.create_connection((host, port), timeout=TIMEOUT) as s:
                s.sendall(str(len(msg)).encode() + b" " + msg)
        else:
            info = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
            with socket.socket(info[0], socket.SOCK_DGRAM) as s:
                s.sendto(msg, info[4])
    except OSError as exc:
        raise DeliveryError(f"syslog {host}:{port}/{channel.get('transport', 'udp')}: "
                            f"{exc}") from None


# A varbind before encoding: (OID, kind, value), kind "int", "str" (text) or "bytes".
Varbind = tuple[tuple[int, ...], str, Any]


def trap_varbinds(event: dict[str, Any]) -> tuple[tuple[int, ...], list[Varbind]]:
    """The notification's OID and varbinds: BGP4-MIB for an IPv4 session, IF-MIB for a
    port with an ifIndex, ours for everything else (and ours after the standard ones)."""
    a, kind = event["alert"], event["kind"]
    ours: list[Varbind] = [(IXP_RULE, "str", str(a.get("rule", ""))),
                           (IXP_SEVERITY, "str", str(a.get("severity", ""))),
                           (IXP_TEXT, "str", str(a.get("text", ""))),
                           (IXP_KEY, "str", str(a.get("key", "")))]
    details = a.get("details") or {}
    if a.get("rule") == "session_down" and kind in ("firing", "resolved"):
        try:
            addr = ip_address(str(details.get("neighbor", "")))
        except ValueError:
            addr = None
        if addr is not None and addr.version == 4:
            index = tuple(addr.packed)
            up = kind == "resolved"
            return (BGP_ESTABLISHED if up else BGP_BACKWARD), [
                ((*BGP_PEER_LAST_ERROR, *index), "bytes", b"\0\0"),
                ((*BGP_PEER_STATE, *index), "int", 6 if up else 1), *ours]
    if a.get("rule") == "port_down" and kind in ("firing", "resolved") \
            and details.get("ifindex"):
        i = int(details["ifindex"])
        up = kind == "resolved"
        return (LINK_UP if up else LINK_DOWN), [
            ((*IF_INDEX, i), "int", i), ((*IF_ADMIN, i), "int", 1),
            ((*IF_OPER, i), "int", 1 if up else 2), *ours]
    return IXP_NOTIFICATION.get(kind, IXP_NOTIFICATION["event"]), ours


def _ber(kind: str, value: Any) -> bytes:
    if kind == "int":
        return ber.tlv(ber.INTEGER, ber.int_body(int(value)))
    data = value if kind == "bytes" else str(value).encode()
    return ber.tlv(ber.OCTET_STRING, data[:255])


def trap_message(community: str, event: dict[str, Any], request_id: int) -> bytes:
    """A whole SNMPv2c SNMPv2-Trap message (RFC 3416 section 4.2.6)."""
    oid, binds = trap_varbinds(event)
    uptime = int((time.monotonic() - _START) * 100) & 0xFFFFFFFF
    varbinds = [ber.varbind(SYS_UPTIME, ber.tlv(TIMETICKS, ber.int_body(uptime))),
                ber.varbind(SNMP_TRAP_OID, ber.tlv(ber.OID, ber.oid_body(oid))),
                *(ber.varbind(o, _ber(k, v)) for o, k, v in binds)]
    pdu = ber.tlv(TRAP_PDU, _ber("int", request_id) + _ber("int", 0) + _ber("int", 0)
                  + ber.tlv(ber.SEQUENCE, b"".join(varbinds)))
    return ber.tlv(ber.SEQUENCE, _ber("int", 1) + _ber("str", community) + pdu)


def _send_trap(channel: dict[str, Any], event: dict[str, Any]) -> None:
    host, port = channel["host"], int(channel["port"])
    msg = trap_message(channel["community"] or "", event, secrets.randbelow(2**31 - 1) + 1)
    try:
        info = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
        with socket.socket(info[0], socket.SOCK_DGRAM) as s:
            s.sendto(msg, info[4])
    except OSError as exc:
        raise DeliveryError(f"SNMP trap to {host}:{port}: {exc}") from None


def _send_inform(channel: dict[str, Any], event: dict[str, Any]) -> None:
    """An SNMPv3 inform (authPriv), acknowledged by the manager, with pysnmp: loaded only
    when a v3 manager is configured (its modules are large for the resident collector)."""
    import asyncio

    from pysnmp.hlapi.v3arch.asyncio import (
        ContextData,
        ObjectIdentity,
        ObjectType,
        SnmpEngine,
        UdpTransportTarget,
        UsmUserData,
        send_notification,
        usmAesCfb128Protocol,
        usmHMAC192SHA256AuthProtocol,
        usmHMAC256SHA384AuthProtocol,
        usmHMAC384SHA512AuthProtocol,
    )
    from pysnmp.proto import rfc1902

    auth = {"SHA-256": usmHMAC192SHA256AuthProtocol, "SHA-384": usmHMAC256SHA384AuthProtocol,
            "SHA-512": usmHMAC384SHA512AuthProtocol}[channel.get("auth_protocol") or "SHA-256"]
    oid, binds = trap_varbinds(event)

    def value(kind: str, v: Any) -> Any:
        return rfc1902.Integer32(int(v)) if kind == "int" else rfc1902.OctetString(
            v if kind == "bytes" else str(v).encode()[:255])

    async def inform() -> str | None:
        engine = SnmpEngine()
        try:
            target = await UdpTransportTarget.create((channel["host"], int(channel["port"])),
                                                     timeout=3, retries=2)
            error, status, _index, _vbs = await send_notification(
                engine, UsmUserData(channel["user"], channel["auth_password"],
                                    channel["priv_password"], authProtocol=auth,
                                    privProtocol=usmAesCfb128Protocol),
                target, ContextData(), "inform",
                ObjectType(ObjectIdentity(SNMP_TRAP_OID), rfc1902.ObjectIdentifier(oid)),
                *(ObjectType(ObjectIdentity(o), value(k, v)) for o, k, v in binds))
        finally:
            engine.close_dispatcher()
        if error:
            return str(error)
        return status.prettyPrint() if status else None

    where = f"SNMPv3 inform to {channel['host']}:{channel['port']}"
    try:
        problem = asyncio.run(inform())
    except Exception as exc:  # pysnmp raises its own errors (e.g. an unknown host name)
        raise DeliveryError(f"{where}: {type(exc).__name__}: {exc}") from None
    if problem:
        raise DeliveryError(f"{where}: {problem}")


def send_snmp(channel: dict[str, Any], event: dict[str, Any], settings: dict[str, Any]
              ) -> None:
    """An SNMPv2c trap (UDP: unacknowledged, as traps are) or an SNMPv3 inform."""
    if channel.get("version") == "v3":
        _send_inform(channel, event)
    else:
        _send_trap(channel, event)


SENDERS = {"email": send_email, "webhook": send_webhook, "syslog": send_syslog,
           "snmp": send_snmp}


def send(channel: dict[str, Any], event: dict[str, Any], settings: dict[str, Any]) -> None:
    """Deliver ``event`` on ``channel`` (``DeliveryError`` when it did not go out)."""
    SENDERS[channel["type"]](channel, event, settings)


def test_event(now: float) -> dict[str, Any]:
    """The test message's event."""
    return {"kind": "test", "alert": {
        "key": "test", "rule": "test", "severity": "info", "member": "", "asn": None,
        "port": "", "reason": "", "value": None, "details": {}, "opened": now,
        "resolved": None, "notified": True,
        "text": "Test message from the IXP appliance: this channel works."}}
