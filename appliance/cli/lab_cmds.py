"""ixpctl lab up|down|status, up, and demo."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from appliance.bird.service import ensure_running
from appliance.cli.common import add_json, add_state_dir, target_netns
from appliance.cli.output import emit_json, print_outcome
from appliance.config.loader import load_config_file
from appliance.lab.lab import LabState, lab_down, lab_status, lab_up
from appliance.pipeline.concern import ApplyContext
from appliance.pipeline.run import Pipeline, default_author
from appliance.runner import Runner, check_dev_listen
from appliance.web import accounts, secrets_store

EXAMPLE = Path(__file__).resolve().parent.parent.parent / "examples" / "small-island.yaml"


def _listen(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"{value!r}: write it as HOST:PORT, e.g. 127.0.0.1:8080")
    try:
        check_dev_listen(host)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return host, int(port)


def _lab_up_and_apply(args: argparse.Namespace, config: Path, author: str) -> int:
    cfg = load_config_file(config)
    state = lab_up(cfg, args.state_dir, prefixes_per_member=args.prefixes)
    print(f"lab {state.prefix}: appliance namespace {state.appliance_netns}, "
          f"{len(state.members)} member routers")
    outcome = Pipeline(args.state_dir, netns=state.appliance_netns).run(
        config.read_text("utf-8"), author=author, comment=f"lab up with {config.name}")
    rc = print_outcome(outcome, False)
    if rc == 0:
        pid = ensure_running(ApplyContext(args.state_dir, state.appliance_netns))
        if pid:
            print(f"route server BIRD started in {state.appliance_netns} (PID {pid})")
    return rc


def cmd_lab_up(args: argparse.Namespace) -> int:
    """Create the lab for a config and apply the config into its appliance namespace."""
    rc = _lab_up_and_apply(args, args.config, args.author or default_author())
    if rc != 0:
        lab_down(args.state_dir)
    return rc


def cmd_lab_down(args: argparse.Namespace) -> int:
    """Remove every namespace and process the lab made."""
    removed = lab_down(args.state_dir)
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
    runner = Runner(args.state_dir, netns=target_netns(args), host=host, port=port)
    runner.install_signal_handlers()
    restored = runner.restore()
    print(restored.message or restored.error or "")
    def ready(url: str) -> None:
        print(f"web UI: {url}  (Ctrl-C stops)", flush=True)
        _print_setup_code(args.state_dir)

    runner.serve(ready)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Lab + applied config + services + web UI; Ctrl-C tears it all down."""
    host, port = args.listen
    args.state_dir.mkdir(parents=True, exist_ok=True)
    if LabState.load(args.state_dir) is not None:
        print("removing the lab left by an earlier demo in this state dir")
        lab_down(args.state_dir)
    runner = None
    try:
        if _lab_up_and_apply(args, args.config, "demo") != 0:
            return 1
        runner = Runner(args.state_dir, netns=target_netns(args), host=host, port=port,
                        sample_interval=args.sample_interval)
        runner.install_signal_handlers()

        def ready(url: str) -> None:
            print(f"\nDemo running. Open {url} in a browser.", flush=True)
            print(f"  state dir: {args.state_dir}   status: ixpctl status --state-dir "
                  f"{args.state_dir}", flush=True)
            print("  Ctrl-C stops the demo and removes the lab.", flush=True)
            _print_setup_code(args.state_dir)
            if args.exit_after_ready:
                runner.stopping.set()
        runner.serve(ready)
    finally:
        removed = lab_down(args.state_dir)
        print(f"demo stopped; removed {len(removed)} namespace(s)", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add 'lab', 'up' and 'demo'."""
    lab = sub.add_parser("lab", help="the network-namespace lab (needs root)")
    lsub = lab.add_subparsers(dest="lab_verb", required=True, metavar="VERB")

    p = lsub.add_parser("up", help="create namespaces and member routers, apply the config")
    p.add_argument("-c", "--config", type=Path, default=EXAMPLE,
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
    p.add_argument("--listen", type=_listen, default=("127.0.0.1", 8080),
                   help="web UI address (default 127.0.0.1:8080; loopback only)")
    p.add_argument("--netns", default=None, help="the appliance namespace (default: the lab's)")
    add_state_dir(p)
    p.set_defaults(func=cmd_up)

    p = sub.add_parser("demo", help="lab + route server + web UI on 127.0.0.1 (Ctrl-C stops)")
    p.add_argument("-c", "--config", type=Path, default=EXAMPLE,
                   help="config file (default: examples/small-island.yaml)")
    p.add_argument("--prefixes", type=int, default=5, help="prefixes each member announces")
    p.add_argument("--listen", type=_listen, default=("127.0.0.1", 8080),
                   help="web UI address (default 127.0.0.1:8080; loopback only)")
    p.add_argument("--sample-interval", type=float, default=10.0,
                   help="seconds between traffic samples (default 10 in the demo)")
    p.add_argument("--exit-after-ready", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--state-dir", type=Path, default=Path("state/demo"),
                   help="where the demo keeps its state (default: ./state/demo)")
    p.set_defaults(func=cmd_demo)
