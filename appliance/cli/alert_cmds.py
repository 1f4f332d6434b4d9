"""ixpctl alerts [list|past|test]: the open and past alerts, and a test message per channel."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from appliance.cli.common import add_json, add_state_dir
from appliance.cli.output import emit_json, error


def _when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M") if ts else "-"


def _line(a: dict[str, Any], past: bool) -> str:
    end = f" -> {_when(a.get('resolved'))}" if past else ""
    quiet = "" if a.get("notified", True) else " (quiet period: not sent)"
    return (f"{_when(a.get('opened'))}{end}  {a.get('severity', ''):8} {a.get('rule', ''):20} "
            f"{a.get('text', '')}{quiet}")


def cmd_list(args: argparse.Namespace) -> int:
    """The open alerts (and, with ``past``, the past ones)."""
    from appliance.alerts.status import alerts_status

    data = alerts_status(args.state_dir, past=args.limit)
    if args.json:
        emit_json(data if args.alerts_verb == "past" else {k: data[k] for k in
                                                           ("configured", "open",
                                                            "channels", "retrying")})
        return 0
    if not data["configured"]:
        print("alerts: no configuration applied yet")
        return 0
    if args.alerts_verb == "past":
        for a in data["past"]:
            print(_line(a, True))
        if not data["past"]:
            print("no past alerts")
        return 0
    for a in data["open"]:
        print(_line(a, False))
    if not data["open"]:
        print("no open alerts")
    channels = ", ".join(c["id"] for c in data["channels"]) or "none (see docs/alerts.md)"
    print(f"channels: {channels}" + (f"; {data['retrying']} deliveries waiting for a retry"
                                     if data["retrying"] else ""))
    return 0


def cmd_test(args: argparse.Namespace) -> int:
    """Send the test message on one channel, or on every channel."""
    from appliance.alerts.engine import load_settings, send_test

    settings = load_settings(args.state_dir)
    ids = [c["id"] for c in (settings or {}).get("channels") or []]
    if not ids:
        error("no alert channel is configured (alerts.email, webhooks, syslog, snmp_managers)")
        return 1
    wanted = ids if args.channel == "all" else [args.channel]
    unknown = [c for c in wanted if c not in ids]
    if unknown:
        error(f"no channel {unknown[0]!r}; the channels are: {', '.join(ids)}")
        return 1
    failed = 0
    for cid in wanted:
        problem = send_test(args.state_dir, cid, settings)
        print(f"{cid}: " + ("sent" if problem is None else f"FAILED: {problem}"))
        failed += problem is not None
    return 1 if failed else 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add 'alerts' and its verbs."""
    p = sub.add_parser("alerts", help="open and past alerts; a test message per channel")
    asub = p.add_subparsers(dest="alerts_verb", metavar="VERB")
    p.set_defaults(func=cmd_list, alerts_verb="list", limit=100)
    add_json(p)
    add_state_dir(p)
    for name, help_text in (("list", "the open alerts and the channels (the default)"),
                            ("past", "the past alerts, newest first")):
        q = asub.add_parser(name, help=help_text)
        q.add_argument("--limit", type=int, default=100, help="past alerts shown")
        add_json(q)
        add_state_dir(q)
        q.set_defaults(func=cmd_list)
    q = asub.add_parser("test", help="send the test message on a channel (or 'all')")
    q.add_argument("channel", nargs="?", default="all",
                   help="email, webhook:0, syslog:0, snmp:0, ... or all (default)")
    add_state_dir(q)
    q.set_defaults(func=cmd_test)
