"""ixpctl rs drain: the route server's graceful shutdown (RFC 8326) on its own."""

from __future__ import annotations

import argparse
import time

from appliance.cli.common import add_state_dir


def cmd_drain(args: argparse.Namespace) -> int:
    """Drain for --seconds (every route sent carries 65535:0), then end the drain."""
    from appliance.firmware import update

    if args.stop:
        update.end_drain(args.state_dir, print)
        return 0
    update.start_drain(args.state_dir, args.seconds, "ixpctl rs drain", print)
    if args.hold:
        print(f"the drain ends by itself in {args.seconds:g} s at the next change, or with "
              "`ixpctl rs drain --stop`; reboot now if that is what it is for")
        return 0
    try:
        time.sleep(args.seconds)
    finally:
        update.end_drain(args.state_dir, print)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add 'rs'."""
    rs = sub.add_parser("rs", help="the route server: drain it before maintenance")
    rsub = rs.add_subparsers(dest="rs_verb", required=True, metavar="VERB")
    p = rsub.add_parser("drain", help="send every route with GRACEFUL_SHUTDOWN (65535:0) for a "
                        "while, so members move their traffic away first (RFC 8326)")
    p.add_argument("--seconds", type=float, default=30, metavar="S",
                   help="how long (default 30)")
    p.add_argument("--hold", action="store_true",
                   help="return at once and leave the drain on for --seconds")
    p.add_argument("--stop", action="store_true", help="end a drain that is on now")
    add_state_dir(p)
    p.set_defaults(func=cmd_drain)
