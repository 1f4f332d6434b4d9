"""ixpctl run SERVICE, restore and services: one service per process, as systemd runs them.

On the image every daemon is its own unit (``systemd/ixp-*.service``) running ``ixpctl run
<service>`` in the foreground; ``ixpctl restore`` (``ixp-restore.service``) re-applies the last
committed revision before they start; ``ixpctl services`` says what runs (the console banner
shows it). ``ixpctl up`` stays the development runner: every service in one process.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from types import FrameType
from typing import TYPE_CHECKING

from appliance.cli.common import add_json, add_state_dir, given_target
from appliance.cli.output import emit_json, error
from appliance.platform.target import Target

# Each runner imports only what its service needs, where it needs it: every unit's process
# is one of these, and the others' modules (Flask, pysnmp, pyroute2, the model) would stay
# resident in all of them, or, for the daemons that exec, swell the wrapper (issue 14).
if TYPE_CHECKING:
    from appliance.runner import Service

RUN_SERVICES = ("bird", "unbound", "stayrtr", "snmp", "collector", "web", "anycast", "apply")
# The ones that stay in Python (the others exec their daemon; the SNMP agent sets its own).
RESIDENT = ("collector", "web", "anycast")


def serve_until_signal(svc: Service) -> int:
    """Start ``svc``, block until SIGTERM or SIGINT (systemd stops units with SIGTERM), stop."""
    stopping = threading.Event()

    def handler(_sig: int, _frame: FrameType | None) -> None:
        stopping.set()
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    svc.start()
    print(f"{svc.name} running", flush=True)
    try:
        while not stopping.wait(1.0):
            pass
    finally:
        svc.stop()
    return 0


def _run_bird(args: argparse.Namespace) -> int:
    from appliance.route_server import daemon as bird_daemon
    from appliance.route_server import rpki_service

    # from the installed bird.conf: parsing the 1000-member model here peaked at 71 MiB
    bind, _why = rpki_service.serving_installed(args.state_dir)
    # BIRD retries a refused RTR connection only after 90 s: give the box's stayrtr (started
    # just before, ixp-stayrtr.service) a moment to listen first.
    if bind is not None and not rpki_service.wait_listening(bind, given_target(args)):
        print(f"stayrtr does not listen on {bind} yet; starting BIRD anyway", flush=True)
    bird_daemon.exec_foreground(given_target(args))
    return 1  # not reached: exec


def _run_unbound(args: argparse.Namespace) -> int:
    from appliance.resolver import daemon as unbound_daemon
    from appliance.resolver.paths import UnboundPaths

    try:
        # the default options, without importing the renderer (jinja2, the model)
        unbound_daemon.exec_foreground(UnboundPaths(args.state_dir), None,
                                       given_target(args))
    except unbound_daemon.UnboundError as exc:
        error(str(exc))
    return 1


def _run_stayrtr(args: argparse.Namespace) -> int:
    from appliance.route_server import rpki_service

    why = rpki_service.exec_foreground(given_target(args))
    # Nothing to serve is not a failure: the unit ends cleanly and the boot stays "running".
    print(f"stayrtr not started: {why}", flush=True)
    return 0


def _run_snmp(args: argparse.Namespace) -> int:
    from appliance.platform.bird.query import route_server_socket
    from appliance.snmp.paths import AGENT_FILE
    from appliance.snmp.service import agent_command

    config = args.state_dir / "etc" / AGENT_FILE
    if not config.exists():
        error(f"{config} is not rendered yet: apply a configuration first")
        return 1
    (args.state_dir / "run").mkdir(parents=True, exist_ok=True)
    argv = agent_command(given_target(args), listen=args.listen,
                         bird_socket=str(route_server_socket(args.state_dir)))
    os.execv(argv[0], argv)
    return 1  # not reached: exec


def _run_collector(args: argparse.Namespace) -> int:
    from appliance.monitor.collector import Collector
    from appliance.monitor.store import SampleStore, samples_path

    # the member ports and sessions come from the collector's rendered file, each round
    from appliance.runner import alert_engine

    engine = alert_engine(given_target(args))
    collector = Collector(SampleStore(samples_path(args.state_dir)), given_target(args),
                          interval=args.interval, after_round=[engine.round])
    return serve_until_signal(collector)


def _run_web(args: argparse.Namespace) -> int:
    from appliance.cli.common import parse_listen
    from appliance.runner import WebService

    try:
        host, port = parse_listen(args.listen)
    except argparse.ArgumentTypeError as exc:
        raise ValueError(str(exc)) from None
    web = WebService(given_target(args), host, port)
    return serve_until_signal(web)


def _run_anycast(args: argparse.Namespace) -> int:
    from appliance.anycast.service import AnycastHelper
    return serve_until_signal(AnycastHelper(given_target(args)))


def _run_apply(args: argparse.Namespace) -> int:
    """The privileged apply helper (ixp-apply.service, socket-activated on the image)."""
    import logging

    from appliance.apply_service.server import main

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    stop = threading.Event()

    def handler(_sig: int, _frame: FrameType | None) -> None:
        stop.set()
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return main(given_target(args), web_user=args.web_user, idle=args.idle, stop=stop)


RUNNERS = {"bird": _run_bird, "unbound": _run_unbound, "stayrtr": _run_stayrtr,
           "snmp": _run_snmp, "collector": _run_collector, "web": _run_web,
           "anycast": _run_anycast, "apply": _run_apply}


def cmd_run(args: argparse.Namespace) -> int:
    """Run one service in the foreground until SIGTERM (what each ixp-*.service runs)."""
    # The journal shows each line as it comes, not when a buffer fills.
    with contextlib.suppress(AttributeError, ValueError):
        sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    if args.service in RESIDENT:
        from appliance.util.memory import lean_malloc

        lean_malloc()  # before the service's threads: one malloc arena, not one per thread
    return RUNNERS[args.service](args)


def cmd_restore(args: argparse.Namespace) -> int:
    """Re-apply the last committed revision (files, bridge, firewall, daemons) at boot."""
    from appliance.cli.management_cmds import revert_unconfirmed
    from appliance.platform.bird.control import route_server_socket
    from appliance.route_server.service import answering

    target = given_target(args)
    # A restore from a backup cut off by a power loss is finished (or undone) before the
    # revision is re-applied, so the box never runs a half-swapped state dir.
    from appliance.backup.restore import recover
    from appliance.util.lock import state_lock
    with state_lock(target.state_dir):
        finished = recover(target.state_dir)
    if finished:
        print(f"backup restore: {finished}")
    ctl = route_server_socket(target.state_dir)
    if ctl.exists() and not answering(target):
        # Left from the last boot (run/ lives on the data partition): a change applied now
        # must not try to reconfigure a BIRD that is gone; it loads the file when it starts.
        ctl.unlink(missing_ok=True)
    from appliance.box import build_pipeline  # heavy: only when changing
    pipeline = build_pipeline(target)
    # Powered off during a management-address trial: nobody confirmed it, so it goes back.
    reverted = revert_unconfirmed(pipeline)
    if reverted is not None and not reverted.ok:
        error(reverted.error or "the unconfirmed management address could not be reverted")
    outcome = pipeline.reapply_latest(author="boot")
    if outcome.ok:
        print(outcome.message)
        return 0
    error(outcome.error or "the committed revision could not be re-applied")
    return 1


def service_states(target: Target) -> dict[str, str]:
    """Each service's state: systemd's word on the image, else whether its process runs."""
    from appliance.platform.launcher import UNITS, Launcher
    from appliance.route_server import daemon as bird_daemon

    launcher = Launcher(target)
    if launcher.systemd:
        import subprocess

        from appliance.platform.launcher import systemctl_argv
        states = {}
        for name in UNITS:
            res = subprocess.run(systemctl_argv("is-active", name), capture_output=True,
                                 text=True, timeout=30, check=False)
            states[name] = res.stdout.strip() or "unknown"
        return states
    from appliance.anycast.service import running_pid as anycast_pid
    from appliance.resolver.daemon import running_pid as unbound_pid
    from appliance.resolver.paths import UnboundPaths
    from appliance.snmp.status import running_agent_pid

    def word(pid: int | None) -> str:
        return "active" if pid is not None else "inactive"
    return {"bird": word(bird_daemon.running_pid(target)),
            "unbound": word(unbound_pid(UnboundPaths(target.state_dir))),
            "snmp": word(running_agent_pid(target.run_dir)),
            "anycast": word(anycast_pid(target))}


def cmd_services(args: argparse.Namespace) -> int:
    """What runs, and whether BIRD runs the installed configuration of the committed revision."""
    from appliance.config.revisions import RevisionStore
    from appliance.route_server.service import running_config

    target = given_target(args)
    states = service_states(target)
    report = running_config(target)
    latest = RevisionStore(args.state_dir).latest()
    revision = latest.id if latest else None
    if args.json:
        emit_json({"services": states, "revision": revision, "route_server": report.as_dict()})
        return 0
    print("Services: " + ", ".join(f"{name} {state}" for name, state in states.items()))
    if revision is None:
        print("Route server: no configuration committed yet")
    elif report.ok:
        print(f"Route server: BIRD {report.version} runs the installed configuration of "
              f"revision {revision}: {len(report.running)} protocols, {report.bgp_sessions} "
              f"BGP sessions, {report.established} established")
    elif states.get("bird") in ("activating", "reloading") or (
            not report.answering and _booting(target)):
        # the units start one after the other at boot: not a problem until the boot is over
        print("Route server: starting (BIRD is not up yet)")
    else:
        print(f"Route server: problem: {'; '.join(report.problems)}")
    return 0


def _booting(target: Target) -> bool:
    """Whether systemd is still starting the box (always False outside systemd)."""
    from appliance.platform.launcher import Launcher

    if not Launcher(target).systemd:
        return False
    import subprocess
    res = subprocess.run(["systemctl", "is-system-running"], capture_output=True, text=True,
                         timeout=30, check=False)
    return res.stdout.strip() in ("initializing", "starting")


def register(sub: argparse._SubParsersAction) -> None:
    """Add 'run', 'restore' and 'services'."""
    p = sub.add_parser("run", help="run one service in the foreground (what systemd runs)")
    p.add_argument("service", choices=RUN_SERVICES)
    p.add_argument("--netns", default=None, help="run it in this network namespace (lab)")
    p.add_argument("--listen", default=None, action="append",
                   help="web: HOST:PORT (default 127.0.0.1:8080); snmp: ADDRESS:PORT instead "
                   "of the configured addresses (repeatable)")
    p.add_argument("--interval", type=float, default=60.0,
                   help="collector: seconds between samples (default 60)")
    p.add_argument("--web-user", default="ixp-web",
                   help="apply: the user (besides root) that may ask it (default ixp-web)")
    p.add_argument("--idle", type=float, default=None,
                   help="apply: exit after this many idle seconds (default: 60 when "
                   "socket-activated, else never)")
    add_state_dir(p)
    p.set_defaults(func=_cmd_run_checked)

    p = sub.add_parser("restore", help="re-apply the last committed revision (boot)")
    p.add_argument("--netns", default=None, help="the appliance namespace (lab)")
    add_state_dir(p)
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser("services", help="which services run; does BIRD run the committed config")
    p.add_argument("--netns", default=None, help="the appliance namespace (lab)")
    add_state_dir(p)
    add_json(p)
    p.set_defaults(func=cmd_services)


def _cmd_run_checked(args: argparse.Namespace) -> int:
    # --listen means one address for the web UI, a list for the SNMP agent.
    if args.service == "web":
        if args.listen and len(args.listen) > 1:
            raise ValueError("web: give --listen once")
        args.listen = args.listen[0] if args.listen else "127.0.0.1:8080"
    elif args.service != "snmp" and args.listen:
        raise ValueError(f"--listen is for web and snmp, not {args.service}")
    return cmd_run(args)
