"""ixpctl report mail: each member's monthly report card, mailed to its NOC.

The image's ``ixp-report-mail.timer`` runs ``ixpctl report mail`` every day: a member whose
report of the past month has not gone out yet gets it (once: ``alerts/monthly.json``
remembers), a failed delivery is tried again the next day. ``--dry-run`` prints the mails
instead; ``--test ASN`` sends that member's report, marked TEST, to the alert recipients.
"""

from __future__ import annotations

import argparse
from typing import Any

from appliance.cli.common import add_json, add_state_dir, target_of
from appliance.cli.output import emit_json, error


def box_composer(language: str) -> Any:
    """The mail's words in ``language`` (the web UI's catalogues)."""
    from appliance.web.report_mail import composer

    return composer(language)


def readable(msg: Any) -> str:
    """A mail's headers and its text, decoded (a dry run shows what the NOC will read)."""
    head = "\n".join(f"{k}: {v}" for k, v in msg.items()
                     if k.lower() not in ("content-transfer-encoding", "mime-version"))
    body = msg.get_body(("plain",))
    return f"{head}\n\n{body.get_content() if body is not None else ''}"


def cmd_mail(args: argparse.Namespace) -> int:
    """Send (or print) the monthly reports that are due."""
    from appliance.alerts import monthly
    from appliance.config.committed import committed_config

    cfg = committed_config(args.state_dir)
    if cfg is None:
        error("no configuration is committed yet: nothing to report")
        return 1
    compose = box_composer(cfg.identity.language)
    target = target_of(args)
    if args.test is not None:
        outcomes = [monthly.send_test(target, cfg, compose, args.test, args.month)]
    elif args.due and not args.dry_run and monthly.mail_off(cfg):
        # the timer's run on a box without alert mail: nothing to do, and no failure
        if not args.json:
            print(f"no monthly report is sent: {monthly.mail_off(cfg)}")
        else:
            emit_json({"off": monthly.mail_off(cfg), "reports": []})
        return 0
    else:
        outcomes = monthly.run(target, cfg, compose, month=args.month,
                               asns=args.member or None, dry_run=args.dry_run,
                               force=args.force)
    if args.json:
        emit_json({"reports": [o.as_dict() | ({"mail": readable(o.message)} if args.dry_run
                                              and o.message is not None else {})
                               for o in outcomes]})
    else:
        for o in outcomes:
            if args.dry_run and o.message is not None:
                print(readable(o.message))
            line = f"AS{o.asn} {o.name} {o.month} → {', '.join(o.to)}: {o.status}"
            print(line + (f" ({o.error})" if o.error else ""))
        if not outcomes:
            print("no member gets a monthly report (none has a noc_email, or all opted out)")
    return 1 if any(o.status == "failed" for o in outcomes) else 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add 'report' and its verb."""
    report = sub.add_parser("report", help="the members' monthly report card mail")
    rsub = report.add_subparsers(dest="report_verb", required=True, metavar="VERB")
    p = rsub.add_parser("mail", help="mail the past month's report card to each member's NOC "
                        "(once per month; what the daily timer runs)")
    p.add_argument("--month", default=None, metavar="YYYY-MM",
                   help="the month to report (default: the past calendar month)")
    p.add_argument("--member", type=int, action="append", default=[], metavar="ASN",
                   help="only this member (repeatable)")
    p.add_argument("--dry-run", action="store_true",
                   help="print the mails; send and record nothing")
    p.add_argument("--force", action="store_true",
                   help="send again to members that already got this month's report")
    p.add_argument("--test", type=int, default=None, metavar="ASN",
                   help="send this member's report, marked TEST, to the alert recipients "
                   "instead of its NOC (not recorded as sent)")
    p.add_argument("--due", action="store_true",
                   help="exit 0 without a word when the reports are off (the timer's run)")
    p.add_argument("--netns", default=None, help="read the lab inside this network namespace")
    add_state_dir(p)
    add_json(p)
    p.set_defaults(func=cmd_mail)
