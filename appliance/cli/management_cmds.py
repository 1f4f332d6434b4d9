"""ixpctl management status|confirm|revert: the trial of a new management address.

``revert`` is what the transient systemd timer of a trial runs; ``restore`` at boot runs it
too when the box was powered off during a trial. ``confirm`` exists for SSH users; the web UI
confirms from its Management page.
"""

from __future__ import annotations

import argparse

from appliance.cli.common import add_json, add_state_dir, pipeline_for
from appliance.cli.output import emit_json, error, print_outcome
from appliance.config.committed import committed_config
from appliance.config.loader import load_config_text
from appliance.management import trial
from appliance.management.status import management_status
from appliance.pipeline.run import Outcome, Pipeline
from appliance.platform.target import IMAGE_MARKER


def revert_unconfirmed(pipeline: Pipeline, trial_id: str | None = None) -> Outcome | None:
    """Put the last confirmed management addresses back, keeping the rest of the revision.

    ``trial_id``: only that trial (a timer of a superseded or confirmed trial does nothing).
    None when there was nothing to revert.
    """
    pending = trial.pending(pipeline.state_dir)
    if pending is None or (trial_id is not None and pending.id != trial_id):
        return None
    latest = pipeline.store.latest()
    if latest is None:
        trial.clear(pipeline.state_dir)
        return None
    candidate = trial.revert_candidate(load_config_text(latest.config), pending.previous)
    return pipeline.run(candidate, author="system", comment=(
        f"the management address {pending.new.describe()} was not confirmed from the new "
        f"address in time: back to {pending.previous.describe()}"))


def cmd_status(args: argparse.Namespace) -> int:
    """Host name, addresses, NTP and time zone, configured and running, and any trial."""
    info = management_status(args.state_dir, committed_config(args.state_dir),
                             on_image=IMAGE_MARKER.exists())
    if args.json:
        emit_json(info)
        return 0
    conf = info.get("configured") or {}
    print(f"Configured: {conf.get('hostname', '-')}, {conf.get('network', '-')}, "
          f"NTP {' '.join(conf.get('ntp', [])) or 'none'}, {conf.get('timezone', '-')}")
    if not info["applied_here"]:
        print("Not the appliance image: the box's own name, addresses and clock are left as "
              "they are")
    else:
        ntp = info["ntp"]
        print(f"Running: {info['hostname']}, addresses {' '.join(info['addresses']) or 'none'}"
              f", NTP {ntp['server'] or 'no server'} "
              f"({'synchronised' if ntp['synchronised'] else 'not synchronised'}), "
              f"{info['timezone']}")
    pending = info["trial"]
    if pending:
        print(f"ON TRIAL: {pending['new_in_words']}; confirm within {pending['seconds_left']} s "
              f"or it goes back to {pending['previous_in_words']}")
    return 0


def cmd_confirm(args: argparse.Namespace) -> int:
    """Keep the addresses on trial (from a shell: SSH through the new address proves it)."""
    try:
        kept = trial.confirm(args.state_dir, args.reached_at)
    except trial.TrialError as exc:
        error(str(exc))
        return 1
    print(f"confirmed: {kept.new.describe()}")
    return 0


def cmd_revert(args: argparse.Namespace) -> int:
    """Go back to the confirmed addresses now (the trial timer runs this)."""
    outcome = revert_unconfirmed(pipeline_for(args), args.trial)
    if outcome is None:
        print("no management address on trial: nothing to revert")
        return 0
    return print_outcome(outcome, False)


def register(sub: argparse._SubParsersAction) -> None:
    """Add 'management' with status, confirm and revert."""
    p = sub.add_parser("management", help="the box's own name, addresses, NTP, time zone")
    verbs = p.add_subparsers(dest="management_verb", required=True, metavar="ACTION")
    s = verbs.add_parser("status", help="configured and running; a trial if one runs")
    add_state_dir(s)
    add_json(s)
    s.set_defaults(func=cmd_status)
    s = verbs.add_parser("confirm", help="keep the management address on trial")
    s.add_argument("--reached-at", required=True, metavar="ADDRESS",
                   help="the box's address you are connected through (e.g. the SSH "
                   "session's: echo $SSH_CONNECTION)")
    add_state_dir(s)
    s.set_defaults(func=cmd_confirm)
    s = verbs.add_parser("revert", help="back to the confirmed management address now")
    s.add_argument("--trial", default=None, help="only this trial (the timer passes it)")
    add_state_dir(s)
    s.set_defaults(func=cmd_revert)
