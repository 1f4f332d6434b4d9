"""ixpctl: the appliance's command line. Every change goes through the one pipeline."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import traceback

from appliance import __version__

EPILOG = """examples:
  ixpctl validate -c examples/small-island.yaml
  ixpctl apply -c ixp.yaml --dry-run        show what would change
  ixpctl history; ixpctl diff 3 4; ixpctl rollback 3
  sudo ixpctl demo                          lab + services + web UI on 127.0.0.1:8080
"""


# The command modules in --help order, and the top-level verbs each one registers. A verb
# imports only its own module: each unit runs ``ixpctl run X``, and the modules of the other
# verbs would add tens of MB to every service (issue 14: memory on the box).
COMMAND_MODULES: dict[str, tuple[str, ...]] = {
    "config_cmds": ("validate", "render", "apply", "status", "matrix", "history", "diff",
                    "rollback", "export", "version"),
    "member_cmds": ("member",),
    "lab_cmds": ("lab", "up", "demo"),
    "user_cmds": ("user", "setup-code"),
    "banner_cmds": ("banner",),
    "irr_cmds": ("irr",),
    "data_cmds": ("data",),
    "rpki_cmds": ("rpki",),
    "run_cmds": ("run", "restore", "services"),
    "management_cmds": ("management",),
    "backup_cmds": ("backup",),
    "system_cmds": ("system",),
    "rs_cmds": ("rs",),
    "alert_cmds": ("alerts",),
    "report_cmds": ("report",),
}
VERB_MODULE = {verb: mod for mod, verbs in COMMAND_MODULES.items() for verb in verbs}

# Errors an operator sees as one line (exit 1), by module: a module that was never imported
# cannot have raised its error, so matching does not need to import it.
_PLAIN_ERRORS = (("appliance.lab.lab", "LabError"), ("appliance.pipeline.concern",
                 "TargetRefused"), ("appliance.util.lock", "LockBusy"),
                 ("appliance.config.revisions", "RevisionNotFound"))


def build_parser(verb: str | None = None) -> argparse.ArgumentParser:
    """The whole command tree, or only the part of the module that registers ``verb``."""
    parser = argparse.ArgumentParser(
        prog="ixpctl", description="Configure and run the starter IXP appliance.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"ixpctl {__version__}")
    sub = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    names = [VERB_MODULE[verb]] if verb in VERB_MODULE else list(COMMAND_MODULES)
    for name in names:
        importlib.import_module(f"appliance.cli.{name}").register(sub)
    return parser


def _raised(exc: BaseException, module: str, name: str) -> bool:
    mod = sys.modules.get(module)
    return mod is not None and isinstance(exc, getattr(mod, name))


def _fail(exc: Exception, args: argparse.Namespace) -> int:
    """Print ``exc`` for an operator; the exit code."""
    from appliance.cli.output import emit_json, error

    if _raised(exc, "appliance.config.errors", "ConfigError"):
        issues = exc.issues  # type: ignore[attr-defined]
        if getattr(args, "json", False):
            emit_json({"ok": False, "issues": [i.as_dict() for i in issues]})
        else:
            from appliance.cli.language import issue_lines

            for line in issue_lines(issues):
                print(line, file=sys.stderr)
            error("the configuration has problems; nothing was changed")
        return 1
    if isinstance(exc, PermissionError | ValueError) or any(
            _raised(exc, mod, name) for mod, name in _PLAIN_ERRORS):
        error(str(exc))
        return 1
    if isinstance(exc, OSError):
        error(f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else ""))
        return 1
    # never a bare traceback for an operator
    if os.environ.get("IXP_DEBUG"):
        traceback.print_exception(exc)
    error(f"internal error: {exc.__class__.__name__}: {exc} (set IXP_DEBUG=1 for details; "
          "please report it)")
    return 70


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code (0 ok, 1 refused or failed, 2 usage)."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    words = sys.argv[1:] if argv is None else argv
    args = build_parser(words[0] if words else None).parse_args(argv)
    try:
        from appliance.cli.common import resolve_state_dir

        resolve_state_dir(args)
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        return _fail(exc, args)


