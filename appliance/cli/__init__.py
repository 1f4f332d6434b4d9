"""ixpctl: the appliance's command line. Every change goes through the one pipeline."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback

from appliance import __version__
from appliance.cli import (
    config_cmds,
    irr_cmds,
    lab_cmds,
    management_cmds,
    member_cmds,
    rpki_cmds,
    run_cmds,
    user_cmds,
)
from appliance.cli.common import resolve_state_dir
from appliance.cli.output import emit_json, error
from appliance.config.errors import ConfigError
from appliance.config.revisions import RevisionNotFound
from appliance.lab.lab import LabError
from appliance.pipeline.concern import TargetRefused
from appliance.util.lock import LockBusy

EPILOG = """examples:
  ixpctl validate -c examples/small-island.yaml
  ixpctl apply -c ixp.yaml --dry-run        show what would change
  ixpctl history; ixpctl diff 3 4; ixpctl rollback 3
  sudo ixpctl demo                          lab + services + web UI on 127.0.0.1:8080
"""


def build_parser() -> argparse.ArgumentParser:
    """The whole command tree."""
    parser = argparse.ArgumentParser(
        prog="ixpctl", description="Configure and run the starter IXP appliance.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"ixpctl {__version__}")
    sub = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    config_cmds.register(sub)
    member_cmds.register(sub)
    lab_cmds.register(sub)
    user_cmds.register(sub)
    irr_cmds.register(sub)
    rpki_cmds.register(sub)
    run_cmds.register(sub)
    management_cmds.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code (0 ok, 1 refused or failed, 2 usage)."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        resolve_state_dir(args)
        return int(args.func(args))
    except ConfigError as exc:
        if getattr(args, "json", False):
            emit_json({"ok": False, "issues": [i.as_dict() for i in exc.issues]})
        else:
            for issue in exc.issues:
                print(str(issue), file=sys.stderr)
            error("the configuration has problems; nothing was changed")
        return 1
    except (LabError, TargetRefused, LockBusy, RevisionNotFound, PermissionError,
            ValueError) as exc:
        error(str(exc))
        return 1
    except OSError as exc:
        error(f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else ""))
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # never a bare traceback for an operator
        if os.environ.get("IXP_DEBUG"):
            traceback.print_exc()
        error(f"internal error: {exc.__class__.__name__}: {exc} (set IXP_DEBUG=1 for details; "
              "please report it)")
        return 70


