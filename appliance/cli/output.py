"""How ixpctl prints: plain text for people, ``--json`` for scripts."""

from __future__ import annotations

import json
import sys
from typing import Any

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
    for issue in outcome.issues:
        print(str(issue), file=sys.stderr)
    if outcome.ok:
        print(outcome.message)
        return 0
    error(outcome.error or "failed")
    return 1
