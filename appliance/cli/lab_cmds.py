"""ixpctl lab up|down|status, up, and demo."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from appliance.box import build_pipeline
from appliance.cli.common import (
    absolute_path,
    add_json,
    add_state_dir,
    parse_listen,
    target_of,
)
from appliance.cli.output import emit_json, print_outcome
from appliance.config.loader import load_config_text
from appliance.config.revisions import RevisionStore
from appliance.lab import registry
from appliance.lab.lab import LabState, lab_down, lab_status, lab_up
from appliance.pipeline.run import default_author
from appliance.platform import shipped
from appliance.platform.target import Target
from appliance.route_server.daemon import running_pid as bird_pid
from appliance.runner import Runner
from appliance.web import accounts, secrets_store

EXAMPLE = Path(__file__).resolve().parent.parent.parent / "examples" / "small-island.yaml"


def _lab_up_and_apply(args: argparse.Namespace, config_text: str, author: str,
                      comment: str) -> int:
    cfg = load_config_text(config_text)
    state = lab_up(cfg, args.state_dir, prefixes_per_member=args.prefixes)
    registry.register(state.prefix, args.state_dir)
    print(f"lab {state.prefix}: appliance namespace {state.appliance_netns}, "
          f"{len(state.members)} member routers")
    # the apply starts the lab's daemons (BIRD, unbound, stayrtr) in its namespace
    target = Target(args.state_dir, state.appliance_netns)
    outcome = build_pipeline(target).run(config_text, author=author, comment=comment)
    rc = print_outcome(outcome, False)
    pid = bird_pid(target)
    if rc == 0 and pid:
        print(f"route server BIRD runs in {state.appliance_netns} (PID {pid})")
    return rc


def _stop_lab(state_dir: Path) -> list[str]:
    lab = LabState.load(state_dir)
    removed = lab_down(state_dir)
    if lab is not None:
        registry.unregister(lab.prefix)
    return removed


def cmd_lab_up(args: argparse.Namespace) -> int:
    """Create the lab for a config and apply the config into its appliance namespace."""
    rc = _lab_up_and_apply(args, args.config.read_text("utf-8"), args.author or default_author(),
                           f"lab up with {args.config.name}")
    if rc != 0:
        _stop_lab(args.state_dir)
    return rc


def cmd_lab_down(args: argparse.Namespace) -> int:
    """Remove every namespace and process the lab made."""
    removed = _stop_lab(args.state_dir)
    print(f"removed {len(removed)} namespace(s)" if removed else "no lab recorded here")
    return 0


def cmd_lab_status(args: argparse.Namespace) -> int:
    """Namespaces, member routers and their sessions."""
    status = lab_status(args.state_dir)
    if args.json:
        emit_json(status)
    elif status is None:
        print("no lab recorded here")
    else:
        print(json.dumps(status, indent=2))
    return 0


def _print_setup_code(state_dir: Path) -> None:
    if not accounts.setup_done(state_dir):
        print(f"  setup code for the wizard: {secrets_store.setup_code(state_dir)}", flush=True)


def cmd_up(args: argparse.Namespace) -> int:
    """Run every service in the foreground until Ctrl-C."""
    host, port = args.listen
    runner = Runner(target_of(args), host=host, port=port)
    runner.install_signal_handlers()
    restored = runner.restore()
    print(restored.message or restored.error or "")
    def ready(url: str) -> None:
        print(f"web UI: {url}  (Ctrl-C stops)", flush=True)
        _print_setup_code(args.state_dir)

    runner.serve(ready)
    return 0


DEMO_MARKER = ".ixp-demo"


def _demo_state(state_dir: Path, fresh: bool) -> None:
    """Make the demo's state dir; with ``fresh``, empty it first (only if it is a demo's)."""
    if fresh and state_dir.exists() and any(state_dir.iterdir()):
        if not (state_dir / DEMO_MARKER).exists():
            raise ValueError(f"{state_dir} was not made by the demo, so --fresh will not empty "
                             "it; give the demo a --state-dir of its own")
        if LabState.load(state_dir) is not None:
            _stop_lab(state_dir)
        shutil.rmtree(state_dir)
        print(f"--fresh: removed the earlier demo's state in {state_dir}")
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / DEMO_MARKER).touch()


def _demo_config(args: argparse.Namespace) -> tuple[str, str]:
    """What the demo applies, and why: the given file, else what was committed before (the
    user's admin, members and settings stay), else the example."""
    if args.config is not None:
        return args.config.read_text("utf-8"), f"demo with {args.config.name}"
    latest = RevisionStore(args.state_dir).latest()
    if latest is not None:
        print(f"keeping the demo's state in {args.state_dir} (revision {latest.id}); "
              "--fresh starts again from the example")
        return latest.config, f"demo restarted on revision {latest.id}"
    return EXAMPLE.read_text("utf-8"), f"demo with {EXAMPLE.name}"


def _daemons_in_use() -> str:
    """Whose BIRD, unbound, stayrtr and nft the lab runs: the image's (with versions) or the
    host's (appliance/platform/shipped.py)."""
    found = shipped.versions()
    if not found:
        return "the host's own (IXP_SHIPPED_ROOT not set)"
    return "the image's: " + ", ".join(f"{name} {version}" for name, version in
                                       sorted(found.items()) if name != "dns-root-data")


def cmd_demo(args: argparse.Namespace) -> int:
    """Lab + applied config + services + web UI; Ctrl-C tears it all down, keeping the state."""
    host, port = args.listen
    _demo_state(args.state_dir, args.fresh)
    if LabState.load(args.state_dir) is not None:
        print("removing the lab left by an earlier demo in this state dir")
        _stop_lab(args.state_dir)
    runner = None
    try:
        text, comment = _demo_config(args)
        if _lab_up_and_apply(args, text, "demo", comment) != 0:
            return 1
        runner = Runner(target_of(args), host=host, port=port,
                        sample_interval=args.sample_interval)
        runner.install_signal_handlers()

        def ready(url: str) -> None:
            print(f"\nDemo running. Open {url} in a browser.", flush=True)
            print(f"  state dir: {args.state_dir}   status: .venv/bin/ixpctl status "
                  "(it finds the running demo by itself)", flush=True)
            print(f"  daemons: {_daemons_in_use()}", flush=True)
            print("  Ctrl-C stops the demo and removes the lab; its state stays for the next "
                  "run (--fresh starts over).", flush=True)
            _print_setup_code(args.state_dir)
            if args.exit_after_ready:
                runner.stopping.set()
        runner.serve(ready)
    finally:
        removed = _stop_lab(args.state_dir)
        print(f"demo stopped; removed {len(removed)} namespace(s)", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add 'lab', 'up' and 'demo'."""
    lab = sub.add_parser("lab", help="the network-namespace lab (needs root)")
    lsub = lab.add_subparsers(dest="lab_verb", required=True, metavar="VERB")

    p = lsub.add_parser("up", help="create namespaces and member routers, apply the config")
    p.add_argument("-c", "--config", type=absolute_path, default=EXAMPLE,
                   help="config file (default: examples/small-island.yaml)")
    p.add_argument("--prefixes", type=int, default=5, help="prefixes each member announces")
    p.add_argument("--author", default=None, help="who (default: the login name)")
    add_state_dir(p)
    p.set_defaults(func=cmd_lab_up)

    p = lsub.add_parser("down", help="remove every namespace and process of the lab")
    add_state_dir(p)
    p.set_defaults(func=cmd_lab_down)

    p = lsub.add_parser("status", help="show the lab's namespaces and sessions")
    add_state_dir(p)
    add_json(p)
    p.set_defaults(func=cmd_lab_status)

    p = sub.add_parser("up", help="run every appliance service in the foreground")
    p.add_argument("--listen", type=parse_listen, default=("127.0.0.1", 8080),
                   help="web UI address (default 127.0.0.1:8080; loopback only)")
    p.add_argument("--netns", default=None, help="the appliance namespace (default: the lab's)")
    add_state_dir(p)
    p.set_defaults(func=cmd_up)

    p = sub.add_parser("demo", help="lab + route server + web UI on 127.0.0.1 (Ctrl-C stops)")
    p.add_argument("-c", "--config", type=absolute_path, default=None,
                   help="config file to apply (default: the demo's last revision, else "
                   "examples/small-island.yaml)")
    p.add_argument("--fresh", action="store_true",
                   help="forget the earlier demo's state (admin, members, settings) and start "
                   "from the example")
    p.add_argument("--prefixes", type=int, default=5, help="prefixes each member announces")
    p.add_argument("--listen", type=parse_listen, default=("127.0.0.1", 8080),
                   help="web UI address (default 127.0.0.1:8080; loopback only)")
    p.add_argument("--sample-interval", type=float, default=10.0,
                   help="seconds between traffic samples (default 10 in the demo)")
    p.add_argument("--exit-after-ready", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--state-dir", type=absolute_path, default=absolute_path("state/demo"),
                   help="where the demo keeps its state (default: ./state/demo)")
    p.set_defaults(func=cmd_demo)
