"""Arguments and look-ups shared by several ixpctl verbs."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

# Imported where used: every ixpctl verb, so every service unit, loads this module.
if TYPE_CHECKING:
    from appliance.pipeline.run import Pipeline
    from appliance.platform.target import Target

DEFAULT_STATE_DIR = Path("/var/lib/ixp-appliance")


def absolute_path(value: str) -> Path:
    """An argparse type: the path made absolute against the current directory.

    Resolved here, at the edge, because the daemons and checkers the pipeline runs work in
    other directories (a relative state dir once made unbound-checkconf miss its file).
    """
    return Path(os.path.abspath(os.path.expanduser(value)))


def add_state_dir(p: argparse.ArgumentParser) -> None:
    """--state-dir; without it, see ``default_state_dir``."""
    p.add_argument("--state-dir", type=absolute_path, default=None,
                   help="where revisions, rendered files and runtime state live (default: "
                   f"$IXP_STATE_DIR, else the running demo's or lab's, else {DEFAULT_STATE_DIR})")


def default_state_dir() -> Path:
    """The state dir a verb uses when none is given.

    ``$IXP_STATE_DIR`` first; on the image, the image's; else the one lab or demo running on
    this machine (so ``ixpctl setup-code`` finds the demo's code); else the image's location.
    """
    from appliance.lab.registry import running_state_dirs
    from appliance.platform.target import IMAGE_MARKER

    env = os.environ.get("IXP_STATE_DIR")
    if env:
        return absolute_path(env)
    if IMAGE_MARKER.exists():
        return DEFAULT_STATE_DIR
    running = running_state_dirs()
    if len(running) == 1:
        print(f"(using the running lab's state dir {running[0]})", file=sys.stderr)
        return running[0]
    if len(running) > 1:
        raise ValueError("several labs are running (" + ", ".join(map(str, running)) +
                         "): say which with --state-dir")
    return DEFAULT_STATE_DIR


def resolve_state_dir(args: argparse.Namespace) -> None:
    """Fill in ``args.state_dir`` for verbs that take one and were given none."""
    if hasattr(args, "state_dir") and args.state_dir is None:
        args.state_dir = default_state_dir()
    state_dir = getattr(args, "state_dir", None)
    if state_dir is not None:
        follow_lab_daemons(Path(state_dir))


def follow_lab_daemons(state_dir: Path) -> None:
    """A lab's state dir: run the daemons (and nft) the lab runs, also from a shell that does
    not set IXP_SHIPPED_ROOT (``ixpctl member add`` beside a running demo)."""
    import json

    from appliance.platform import shipped

    if shipped.ENV in os.environ:
        return
    # lab.json read by hand: ``ixpctl run bird`` and friends pass here too and must stay lean
    # (appliance.lab pulls in the model, pyroute2 and Jinja; tests/cli/test_lean_imports.py)
    try:
        data = json.loads((state_dir / "lab.json").read_text())
    except (OSError, ValueError):
        return
    root = data.get("shipped_root") if isinstance(data, dict) else None
    if isinstance(root, str) and root:
        os.environ[shipped.ENV] = root


def parse_listen(value: str) -> tuple[str, int]:
    """An argparse type: HOST:PORT for the development web server (loopback only)."""
    from appliance.runner import check_dev_listen

    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"{value!r}: write it as HOST:PORT, e.g. 127.0.0.1:8080")
    try:
        check_dev_listen(host)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return host, int(port)


def add_json(p: argparse.ArgumentParser) -> None:
    """--json for machine-readable output."""
    p.add_argument("--json", action="store_true", help="print JSON for scripts")


def given_target(args: argparse.Namespace) -> Target:
    """--state-dir and --netns as given: no --netns is this host (the image's units pass
    none)."""
    from appliance.platform.target import Target

    return Target(Path(args.state_dir), getattr(args, "netns", None) or None)


def target_of(args: argparse.Namespace) -> Target:
    """Where changes go: --netns, else the lab's appliance namespace, else this host."""
    from appliance.lab.lab import LabState
    from appliance.platform.target import Target

    explicit = getattr(args, "netns", None)
    if explicit:
        return Target(Path(args.state_dir), explicit)
    lab = LabState.load(args.state_dir)
    return Target(Path(args.state_dir), lab.appliance_netns if lab else None)


def pipeline_for(args: argparse.Namespace) -> Pipeline:
    """A pipeline on the state dir, aimed at the right namespace."""
    from appliance.box import build_pipeline  # heavy: only when changing

    return build_pipeline(target_of(args))
