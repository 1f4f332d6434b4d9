"""The monthly report card mailed to each member's NOC (issue 18): what the member page shows,
for the past calendar month, once per member and month.

Run by ``ixpctl report mail`` (the image's ``ixp-report-mail.timer``, daily) and by the lab
runner's ``ReportMailService``. A member gets the report of month M once, the first run in
month M+1 after which it was handed to the relay; ``alerts/monthly.json`` remembers that, so
a restart or a second run sends nothing again. A delivery that failed is tried again at each
later run of that month (and each try is in the alerts' delivery log, on the Alerts page).

The words are the front end's: ``compose`` turns the facts into a subject and a text in the
box's language (``web/report_mail.py``); this module gathers the facts, decides who is due,
sends through the alert mail's relay (``platform/mail.py``) and keeps the record.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from appliance.alerts.store import AlertStore
from appliance.platform import mail
from appliance.platform.target import Target
from appliance.util.atomic import atomic_write, give_to_folder_owner

if TYPE_CHECKING:
    from appliance.config.model import IXPConfig

log = logging.getLogger(__name__)

CHANNEL = "email"  # the alert mail's channel id: the deliveries log names it
KIND = "report"
MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")

# facts → (subject, plain text, HTML or None), in the box's language
Compose = Callable[[dict[str, Any]], tuple[str, str, str | None]]


@dataclass
class Outcome:
    """What one member's report became in one run."""

    asn: int
    name: str
    month: str
    to: list[str]
    status: str  # "sent", "failed", "already sent", "dry run", "test sent"
    error: str | None = None
    message: Any = field(default=None, repr=False)  # the EmailMessage (dry run, tests)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, without the message."""
        return {"asn": self.asn, "name": self.name, "month": self.month, "to": self.to,
                "status": self.status, "error": self.error}


def parse_month(text: str) -> str:
    """``YYYY-MM`` checked; ``ValueError`` saying what to write."""
    if not MONTH.match(text.strip()):
        raise ValueError(f"--month {text!r}: write the month as YYYY-MM, like 2026-11")
    return text.strip()


def box_zone(cfg: IXPConfig) -> ZoneInfo:
    """The box's time zone (``management.timezone``): a month starts at its midnight."""
    try:
        return ZoneInfo(cfg.management.timezone)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def previous_month(now: float, zone: ZoneInfo) -> str:
    """The calendar month before the one ``now`` is in, in ``zone``."""
    first = datetime.fromtimestamp(now, zone).replace(day=1)
    return (first - timedelta(days=1)).strftime("%Y-%m")


def month_bounds(month: str, zone: ZoneInfo) -> tuple[float, float]:
    """The month's first and last instant (as timestamps; the end is the next month's start)."""
    year, mon = (int(p) for p in parse_month(month).split("-"))
    start = datetime(year, mon, 1, tzinfo=zone)
    end = datetime(year + mon // 12, mon % 12 + 1, 1, tzinfo=zone)
    return start.timestamp(), end.timestamp()


OFF_REASONS = {
    "alerts_off": "alerts are off (alerts.enabled)",
    "report_off": "the monthly report is off (alerts.monthly_report.enabled)",
    "no_mail": "alert mail is not set up (alerts.email): the report uses its relay",
}


def off_reason(cfg: IXPConfig) -> str | None:
    """Why no monthly report goes out at all, as a key of ``OFF_REASONS``; None: they do."""
    a = cfg.alerts
    if not a.enabled:
        return "alerts_off"
    if not a.monthly_report.enabled:
        return "report_off"
    if not a.email.enabled:
        return "no_mail"
    return None


def mail_off(cfg: IXPConfig) -> str | None:
    """``off_reason`` in words (English, for the CLI and the log)."""
    reason = off_reason(cfg)
    return OFF_REASONS[reason] if reason else None


def recipients(cfg: IXPConfig) -> dict[int, tuple[str, str]]:
    """ASN → (name, NOC address) of every member that gets the report: one with a
    ``noc_email`` that did not opt out (an opt-out on any of its entries counts)."""
    out: dict[int, tuple[str, str]] = {}
    for asn in dict.fromkeys(m.asn for m in cfg.members):
        entries = cfg.member_by_asn(asn)
        noc = next((m.noc_email for m in entries if m.noc_email), None)
        if noc and all(m.monthly_report for m in entries):
            out[asn] = (entries[0].name, str(noc))
    return out


# -- the record (alerts/monthly.json) ----------------------------------------------------


def read_record(state_dir: Path) -> dict[str, Any]:
    """``{"sent": {asn: {...}}, "failed": {asn: {...}}}`` (empty before the first run; a
    damaged file is logged and read as empty: at worst a report goes out twice)."""
    path = Target(Path(state_dir)).report_mail
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        data = {}
    except (OSError, ValueError) as exc:
        log.error("report mail: %s is unreadable (%s): starting afresh", path, exc)
        data = {}
    if not isinstance(data, dict):
        data = {}
    return {"sent": dict(data.get("sent") or {}), "failed": dict(data.get("failed") or {})}


def _save_record(state_dir: Path, record: dict[str, Any]) -> None:
    # on the image alerts/ is the collector's (ixp-collector): a file root writes there is
    # handed to it, as the alert store does
    path = Target(Path(state_dir)).report_mail
    atomic_write(path, (json.dumps(record, indent=1, sort_keys=True) + "\n").encode(), 0o600)
    give_to_folder_owner(path)


MONTHS_KEPT = 24  # months remembered per member (a report older than that is not asked for)


def already_sent(record: dict[str, Any], asn: int, month: str) -> bool:
    """Did member ``asn`` get the report of ``month`` already?"""
    return month in ((record["sent"].get(str(asn)) or {}).get("months") or [])


# -- the facts ---------------------------------------------------------------------------


def session_outages(state: dict[str, Any], asn: int, start: float, end: float
                    ) -> dict[str, Any]:
    """The member's session-down alerts that overlap the month: how many and for how long
    (only the ones that lasted past the rule's hold, as the alerts record them)."""
    alerts = [*(state.get("past") or []), *(state.get("open") or {}).values()]
    count, seconds = 0, 0.0
    for a in alerts:
        if a.get("rule") != "session_down" or a.get("asn") != asn:
            continue
        opened = float(a.get("opened") or 0)
        closed = float(a["resolved"]) if a.get("resolved") else end
        lo, hi = max(opened, start), min(closed, end)
        if hi > lo:
            count += 1
            seconds += hi - lo
    return {"count": count, "minutes": round(seconds / 60)}


def month_facts(target: Target, cfg: IXPConfig, asn: int, month: str,
                now: float | None = None) -> dict[str, Any] | None:
    """Everything one member's mail says: the report card now (``monitor/report.py``), the
    month's traffic with each peer (the collector's samples) and the session outages the
    alerts saw in the month. None when there is no such member."""
    from appliance.monitor.report import member_report, month_traffic

    card = member_report(target, cfg, asn, live_traffic=False)
    if card is None:
        return None
    zone = box_zone(cfg)
    start, end = month_bounds(month, zone)
    names = {m.asn: m.name for m in cfg.members}
    traffic = month_traffic(Path(target.state_dir), asn, start, end, names) \
        if cfg.peering_lan.traffic_matrix else None
    outages = session_outages(AlertStore(Path(target.state_dir)).state(), asn, start, end)
    return {"asn": asn, "name": card["name"], "month": month, "start": start, "end": end,
            "generated": time.time() if now is None else now, "timezone": str(zone.key),
            "card": card, "traffic": traffic, "outages": outages,
            "rules": {"session_down": cfg.alerts.rules.session_down.enabled},
            "ixp": cfg.identity.short_name, "ixp_name": cfg.identity.name,
            "contact": str(cfg.identity.contact_email),
            "hostname": cfg.management.hostname}


@contextlib.contextmanager
def _one_run(state_dir: Path) -> Iterator[None]:
    """Only one run at a time (the timer, a manual run, the lab runner): a second one would
    send what the first is sending. ``ValueError`` when another run holds the lock."""
    path = Target(Path(state_dir)).report_mail_lock
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        give_to_folder_owner(path)
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ValueError("another monthly report run is under way; try again later"
                             ) from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _message(cfg: IXPConfig, facts: dict[str, Any], to: list[str], compose: Compose,
             test: bool = False) -> Any:
    subject, text, html = compose(facts)
    # a dry run may come before the alert mail is set up: the IXP's own address then
    sender = cfg.alerts.email.sender or cfg.identity.contact_email
    return mail.message(str(sender), to,
                        ("[TEST] " if test else "") + subject, text, html=html,
                        headers={"Reply-To": str(cfg.identity.contact_email),
                                 "X-IXP-Report": f"AS{facts['asn']} {facts['month']}",
                                 "Auto-Submitted": "auto-generated"})


def _relay(cfg: IXPConfig) -> mail.Relay:
    e = cfg.alerts.email
    return mail.Relay(host=str(e.relay), port=e.port, starttls=e.starttls,
                      username=e.username, password=e.smtp_password)


def _log(state_dir: Path, asn: int, name: str, month: str, to: list[str],
         error: str | None, tries: int, now: float, test: bool = False) -> None:
    AlertStore(Path(state_dir)).record({
        "time": now, "channel": CHANNEL, "kind": "test" if test else KIND,
        "key": f"report:AS{asn}:{month}",
        "text": f"monthly report {month} of AS{asn} {name} to {', '.join(to)}",
        "ok": error is None, "error": error, "try": tries})


def run(target: Target, cfg: IXPConfig, compose: Compose, *, month: str | None = None,
        asns: list[int] | None = None, dry_run: bool = False, force: bool = False,
        now: float | None = None) -> list[Outcome]:
    """Send the report of ``month`` (default: the past one) to every member due (or those of
    ``asns``); ``force`` sends again what was sent. A dry run sends and records nothing and
    gives the messages. ``ValueError`` when the reports are off, an ASN is not a member
    that gets them, or another run is under way."""
    if dry_run:
        return _run(target, cfg, compose, month, asns, dry_run, force, now)
    with _one_run(target.state_dir):
        return _run(target, cfg, compose, month, asns, dry_run, force, now)


def _run(target: Target, cfg: IXPConfig, compose: Compose, month: str | None,
         asns: list[int] | None, dry_run: bool, force: bool,
         now: float | None) -> list[Outcome]:
    now = time.time() if now is None else now
    off = mail_off(cfg)
    if off and not dry_run:
        raise ValueError(f"no monthly report is sent: {off}")
    month = parse_month(month) if month else previous_month(now, box_zone(cfg))
    who = recipients(cfg)
    if asns:
        missing = [a for a in asns if a not in who]
        if missing:
            raise ValueError("no monthly report for " + ", ".join(f"AS{a}" for a in missing)
                             + ": not a member, no noc_email, or monthly_report is false")
        who = {a: who[a] for a in asns}
    record = read_record(target.state_dir)
    out: list[Outcome] = []
    for asn, (name, noc) in who.items():
        if not force and already_sent(record, asn, month):
            out.append(Outcome(asn, name, month, [noc], "already sent"))
            continue
        facts = month_facts(target, cfg, asn, month, now)
        if facts is None:
            continue
        msg = _message(cfg, facts, [noc], compose)
        if dry_run:
            out.append(Outcome(asn, name, month, [noc], "dry run", message=msg))
            continue
        bcc = [str(r) for r in cfg.alerts.email.recipients] \
            if cfg.alerts.monthly_report.copy_to_operator else []
        failed = record["failed"].get(str(asn)) or {}
        tries = int(failed.get("tries", 0)) + 1 if failed.get("month") == month else 1
        error = None
        try:
            mail.send(_relay(cfg), msg, bcc=bcc)
        except mail.DeliveryError as exc:
            error = str(exc)
        _log(target.state_dir, asn, name, month, [noc], error, tries, now)
        if error is None:
            months = (record["sent"].get(str(asn)) or {}).get("months") or []
            months = sorted({*months, month})[-MONTHS_KEPT:]
            record["sent"][str(asn)] = {"month": month, "time": now, "to": [noc],
                                        "months": months}
            record["failed"].pop(str(asn), None)
            log.info("report mail: %s of AS%s sent to %s", month, asn, noc)
        else:
            record["failed"][str(asn)] = {"month": month, "time": now, "error": error,
                                          "tries": tries}
            log.warning("report mail: %s of AS%s to %s: %s", month, asn, noc, error)
        _save_record(target.state_dir, record)  # after each member: a crash loses nothing sent
        out.append(Outcome(asn, name, month, [noc], "sent" if error is None else "failed",
                           error, msg))
    return out


def send_test(target: Target, cfg: IXPConfig, compose: Compose, asn: int,
              month: str | None = None,
              now: float | None = None) -> Outcome:
    """The member's report, marked TEST, to the alert mail's recipients (not to the member,
    and not recorded as sent): what its NOC will get. ``ValueError`` when it cannot go."""
    now = time.time() if now is None else now
    if not cfg.alerts.email.enabled:
        raise ValueError("alert mail is not set up (alerts.email): the report uses its relay")
    month = parse_month(month) if month else previous_month(now, box_zone(cfg))
    facts = month_facts(target, cfg, asn, month, now)
    if facts is None:
        raise ValueError(f"AS{asn} is not a member")
    to = [str(r) for r in cfg.alerts.email.recipients]
    msg = _message(cfg, facts, to, compose, test=True)
    error = None
    try:
        mail.send(_relay(cfg), msg)
    except mail.DeliveryError as exc:
        error = str(exc)
    _log(target.state_dir, asn, facts["name"], month, to, error, 1, now, test=True)
    return Outcome(asn, facts["name"], month, to, "test sent" if error is None else "failed",
                   error, msg)


def member_status(state_dir: Path, cfg: IXPConfig, asn: int) -> dict[str, Any]:
    """For the member's page: does it get the report, to where, the last one sent and the
    last failure (when newer)."""
    record = read_record(state_dir)
    who = recipients(cfg)
    entry = cfg.member_by_asn(asn)
    return {"off": off_reason(cfg), "gets": asn in who,
            "to": who.get(asn, ("", entry[0].noc_email if entry else None))[1],
            "opted_out": any(not m.monthly_report for m in entry),
            "sent": record["sent"].get(str(asn)), "failed": record["failed"].get(str(asn)),
            "due_month": previous_month(time.time(), box_zone(cfg))}
