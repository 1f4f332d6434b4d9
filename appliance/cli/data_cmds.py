"""ixpctl data refresh|status: the route server's IRR and PeeringDB data, fetched again.

The timer on the image (``ixp-data-refresh.timer``) runs ``ixpctl data refresh --due`` every
hour: only the sources whose interval (``route_server.refresh``) has passed are fetched. By
hand, ``ixpctl data refresh`` fetches both now (``--irr`` or ``--peeringdb`` for one). A change
is applied through the pipeline as a revision by "refresh"; unchanged data makes none; a
source that cannot be reached keeps its data, and the failure shows in ``ixpctl data status``.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from appliance.cli.common import add_json, add_state_dir, target_of
from appliance.cli.output import emit_json, error

if TYPE_CHECKING:
    from appliance.box import RefreshReport


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "no data"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} minutes old"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.0f} hours old"
    return f"{seconds / 86400:.1f} days old"


# A source could not be reached and nothing else went wrong: the data in force stays. Its own
# code so the timer's unit can count it a success (SuccessExitStatus=3): an offline box is
# not a degraded system, its data's age is shown and alerted on instead.
UNREACHABLE = 3


def _exit_code(report: RefreshReport) -> int:
    if report.outcome is not None and not report.outcome.ok:
        return 1
    return UNREACHABLE if report.failures else 0


def cmd_refresh(args: argparse.Namespace) -> int:
    """Fetch now (or what is due) and apply what changed."""
    from appliance.box import refresh_data

    sources = [s for s, on in (("irr", args.irr), ("peeringdb", args.peeringdb)) if on] or None
    report = refresh_data(target_of(args), sources=sources,
                          only_due=args.due)
    if args.json:
        emit_json({"sources": report.sources, "changed": report.changed,
                   "failures": report.failures, "changes": report.lines,
                   "message": report.message,
                   "outcome": report.outcome.as_dict() if report.outcome else None})
        return _exit_code(report)
    for source, why in sorted(report.failures.items()):
        print(f"warning: {source}: {why} (the previous data stays in force)")
    for line in report.lines:
        print(f"  {line}")
    if report.outcome is not None and not report.outcome.ok:
        error(report.message)
        return 1
    print(report.message)
    return _exit_code(report)


def cmd_status(args: argparse.Namespace) -> int:
    """How old each data set is, whether it is stale, and how the last refresh went."""
    from appliance.config.committed import committed_config
    from appliance.route_server.status import data_freshness

    cfg = committed_config(args.state_dir)
    if cfg is None:
        error(f"no configuration committed in {args.state_dir}")
        return 1
    fresh = data_freshness(args.state_dir, cfg)
    if args.json:
        emit_json(fresh)
        return 0
    ref = fresh["refresh"]
    print(f"automatic refresh: {'on' if ref['enabled'] else 'off'} (IRR every "
          f"{ref['irr_hours']} h, PeeringDB every {ref['peeringdb_hours']} h)")
    for source, name in (("irr", "IRR"), ("peeringdb", "PeeringDB")):
        s = fresh[source]
        stale = " STALE" if s["stale"] else ""
        print(f"{name:<10} {_age(s['age_seconds'])}{stale}; last attempt "
              f"{s['last_attempt'] or 'never'}, last success {s['last_success'] or 'never'}")
        if s["error"]:
            print(f"           last attempt failed: {s['error']}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add 'data' and its verbs."""
    data = sub.add_parser("data", help="the route server's IRR and PeeringDB data: refresh, age")
    dsub = data.add_subparsers(dest="data_verb", required=True, metavar="VERB")
    p = dsub.add_parser("refresh", help="fetch IRR (bgpq4) and PeeringDB data now and apply "
                        "what changed")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--irr", action="store_true", help="only the IRR prefix lists")
    which.add_argument("--peeringdb", action="store_true", help="only the PeeringDB data")
    p.add_argument("--due", action="store_true",
                   help="only what route_server.refresh says is due (what the timer runs)")
    p.add_argument("--netns", default=None, help="apply inside this network namespace")
    add_state_dir(p)
    add_json(p)
    p.set_defaults(func=cmd_refresh)
    p = dsub.add_parser("status", help="how old the data is, stale or not, the last refresh")
    add_state_dir(p)
    add_json(p)
    p.set_defaults(func=cmd_status)
