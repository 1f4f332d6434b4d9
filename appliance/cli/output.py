"""How ixpctl prints: plain text for people, ``--json`` for scripts."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

# Imported where used: every ixpctl verb, so every service unit, loads this module.
if TYPE_CHECKING:
    from appliance.pipeline.run import Outcome


def emit_json(data: Any) -> None:
    """Print ``data`` as indented JSON."""
    print(json.dumps(data, indent=2, sort_keys=False, default=str))


def error(message: str) -> None:
    """Print an error line to stderr."""
    print(f"error: {message}", file=sys.stderr)


def print_outcome(outcome: Outcome, as_json: bool) -> int:
    """Show a pipeline outcome; returns the exit code (0 ok, 1 refused or failed)."""
    if as_json:
        emit_json(outcome.as_dict())
        return 0 if outcome.ok else 1
    if outcome.changes:
        print("Plan:")
        for change in outcome.changes:
            print(f"  {change}")
    elif outcome.ok:
        print("Plan: no changes")
    if outcome.issues:
        from appliance.cli.language import issue_lines

        for line in issue_lines(outcome.issues):
            print(line, file=sys.stderr)
    if outcome.ok:
        print(outcome.message)
        return 0
    error(outcome.error or "failed")
    return 1


def print_summary(state_dir: Path, candidate_text: str) -> None:
    """Say in words what applying ``candidate_text`` over the committed revision does.

    The same sentences as the web UI's review; a candidate with errors prints nothing here
    (the pipeline reports them, with their fields).
    """
    from appliance.config.errors import ConfigError
    from appliance.config.loader import load_config_text
    from appliance.config.revisions import RevisionStore
    from appliance.config.summary import summarize

    try:
        candidate = load_config_text(candidate_text)
        latest = RevisionStore(state_dir).latest()
        running = load_config_text(latest.config) if latest is not None else None
    except ConfigError:
        return
    lines = summarize(running, candidate)
    if lines:
        print("What this does:")
        for line in lines:
            print(f"  - {line}")
