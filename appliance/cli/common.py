"""Arguments and look-ups shared by several ixpctl verbs."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from appliance.lab.lab import LabState
from appliance.pipeline.run import Pipeline

DEFAULT_STATE_DIR = "/var/lib/ixp-appliance"


def add_state_dir(p: argparse.ArgumentParser) -> None:
    """--state-dir, defaulting to $IXP_STATE_DIR or the image's location."""
    p.add_argument("--state-dir", type=Path,
                   default=Path(os.environ.get("IXP_STATE_DIR", DEFAULT_STATE_DIR)),
                   help="where revisions, rendered files and runtime state live "
                   f"(default: $IXP_STATE_DIR or {DEFAULT_STATE_DIR})")


def add_json(p: argparse.ArgumentParser) -> None:
    """--json for machine-readable output."""
    p.add_argument("--json", action="store_true", help="print JSON for scripts")


def target_netns(args: argparse.Namespace) -> str | None:
    """The namespace changes go to: --netns, else the lab's appliance namespace, else none."""
    explicit = getattr(args, "netns", None)
    if explicit:
        return explicit
    lab = LabState.load(args.state_dir)
    return lab.appliance_netns if lab else None


def pipeline_for(args: argparse.Namespace) -> Pipeline:
    """A pipeline on the state dir, aimed at the right namespace."""
    return Pipeline(args.state_dir, netns=target_netns(args))
