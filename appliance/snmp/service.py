"""The agent's life cycle: its command line, and off the image its start, stop and the dev
runner's supervision (``SnmpService``).

The agent runs in its own process (its asyncio loop and pysnmp stay out of the web server's
way, and the concern signals it by PID). On the image ``ixp-snmp.service`` runs ``ixpctl run
snmp``; in a lab the SNMP concern's apply spawns that same command (the lifecycle rule in
docs/design/architecture.md), in the host's namespace so that it listens on the host's
loopback beside the dev web UI (``paths.DEV_LISTEN``), reading the interfaces of the lab's.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time

from appliance.platform.launcher import Launcher, end_pid, ixpctl_argv, spawn_detached
from appliance.platform.target import Target
from appliance.snmp.paths import AGENT_FILE, DEV_LISTEN, LISTEN_FILE, LOG_FILE, PID_FILE
from appliance.snmp.status import is_agent, running_agent_pid
from appliance.util.atomic import atomic_write

log = logging.getLogger(__name__)


class SnmpStartError(RuntimeError):
    """The agent exited at start or never came up; the text carries its log's last lines."""


def agent_command(target: Target, *,
                  listen: list[str] | None = None, bird_socket: str | None = None,
                  python: str = sys.executable) -> list[str]:
    """The command line that runs the agent for ``target`` (what ``ixpctl run snmp`` execs)."""
    state_dir = target.state_dir
    cmd = [python, "-m", "appliance.snmp",
           "--config", str(state_dir / "etc" / AGENT_FILE),
           "--state-dir", str(state_dir), "--pid-file", str(state_dir / "run" / PID_FILE)]
    if target.netns:
        cmd += ["--netns", target.netns]
    for item in listen or []:
        cmd += ["--listen", item]
    if bird_socket:
        cmd += ["--bird-socket", bird_socket]
    return cmd


def spawns_here(target: Target) -> bool:
    """Whether the agent of ``target`` is started by its apply (a lab's namespace, a host
    that is not the image); on the image its unit runs it, and without a network of our own
    (config only) nothing runs."""
    return target.has_system and Launcher(target).spawns


def dev_listen(target: Target) -> str:
    """Where the agent listens off the image: what the dev runner recorded, else the default."""
    try:
        return (target.run_dir / LISTEN_FILE).read_text().strip() or DEV_LISTEN
    except OSError:
        return DEV_LISTEN


def record_listen(target: Target, address: str) -> bool:
    """Have the agent of ``target`` listen on ``address`` from now on (the dev runner's port);
    True if that changed where it listens."""
    if dev_listen(target) == address:
        return False
    atomic_write(target.run_dir / LISTEN_FILE, f"{address}\n".encode(), 0o644)
    return True


def running_pid(target: Target) -> int | None:
    """The PID of the agent of ``target`` if it runs."""
    return running_agent_pid(target.run_dir)


def wanted(target: Target) -> bool:
    """Whether the installed configuration asks for an agent (SNMP enabled)."""
    from appliance.snmp.settings import SettingsError, load_settings

    try:
        return load_settings(target.etc_dir / AGENT_FILE).enabled
    except (OSError, SettingsError):
        return False


def _log_tail(target: Target, lines: int = 6) -> str:
    try:
        text = (target.run_dir / LOG_FILE).read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def start(target: Target, *, ready_timeout: float = 60.0) -> int:
    """Spawn ``ixpctl run snmp`` for ``target`` (off the image) and wait until the agent
    listens (it writes its PID file once its sockets are bound); its PID."""
    argv = ixpctl_argv("run", "snmp", "--state-dir", str(target.state_dir),
                       *(["--netns", target.netns] if target.netns else []),
                       "--listen", dev_listen(target))
    proc = spawn_detached(argv, target.run_dir / LOG_FILE)  # exec keeps the PID: the agent's
    pid_file = target.run_dir / PID_FILE
    deadline = time.monotonic() + ready_timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SnmpStartError(f"the SNMP agent exited at start (code {proc.returncode}): "
                                 f"{_log_tail(target)}")
        with contextlib.suppress(OSError, ValueError):
            if int(pid_file.read_text()) == proc.pid:
                return proc.pid
        time.sleep(0.1)
    end_pid(proc.pid, lambda: proc.poll() is None)
    raise SnmpStartError(f"the SNMP agent did not come up in {ready_timeout:.0f} s: "
                         f"{_log_tail(target)}")


def stop(target: Target) -> bool:
    """Stop the agent spawned for ``target`` (SIGTERM, then SIGKILL); True if one ran."""
    pid = running_pid(target)
    if pid is None:
        return False
    # by the PID, not the file: the agent removes its PID file as it begins to stop
    end_pid(pid, lambda: is_agent(pid))
    (target.run_dir / PID_FILE).unlink(missing_ok=True)  # a SIGKILL leaves it
    return True


def ensure_running(target: Target) -> int | None:
    """Start the agent where its apply would (``spawns_here``), the configuration asks for
    it and none runs; its PID if started (the dev runner's supervision of one that died)."""
    if not spawns_here(target) or not wanted(target) or running_pid(target) is not None:
        return None
    return start(target)


class SnmpService:
    """The dev runner's supervision of the agent: the SNMP concern's apply starts it; this
    starts it again if it died, on the loopback port the runner was given. It is the state
    directory's, like BIRD: ``ixpctl lab down`` (and the demo's end) stops it."""

    name = "snmp"

    def __init__(self, target: Target, *, host: str = "127.0.0.1", port: int = 1161) -> None:
        self.target = target
        self.listen = f"{host}:{port}"

    def start(self) -> None:
        """Record the runner's port; move a running agent there; start one if none runs."""
        if spawns_here(self.target) and record_listen(self.target, self.listen) \
                and stop(self.target):
            log.info("snmp: agent restarted to listen on %s", self.listen)
        pid = ensure_running(self.target)
        if pid:
            log.info("snmp: agent started (PID %s) on %s", pid, self.listen)

    def check(self) -> None:
        """One round of supervision: start again an agent that died."""
        pid = ensure_running(self.target)
        if pid:
            log.info("snmp: agent started again (PID %s)", pid)

    def stop(self) -> None:
        """Nothing: the agent stays with the applied configuration (see the class)."""

