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

from appliance.platform.launcher import (
    Supervisor,
    end_pid,
    ixpctl_argv,
    spawn_and_wait,
    spawns_here,
)
from appliance.platform.target import Target
from appliance.snmp.paths import AGENT_FILE, DEV_LISTEN, LISTEN_FILE, LOG_FILE, PID_FILE
from appliance.snmp.status import is_agent, running_agent_pid
from appliance.util.atomic import atomic_write

log = logging.getLogger(__name__)


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


def start(target: Target) -> int:
    """Spawn ``ixpctl run snmp`` for ``target`` (off the image) and wait until the agent
    listens (it writes its PID file once its sockets are bound); its PID. Raises
    ``SpawnError`` if it does not come up."""
    argv = ixpctl_argv("run", "snmp", "--state-dir", str(target.state_dir),
                       *(["--netns", target.netns] if target.netns else []),
                       "--listen", dev_listen(target))

    def listening(pid: int) -> bool:  # exec keeps the PID: the agent's
        with contextlib.suppress(OSError, ValueError):
            return int((target.run_dir / PID_FILE).read_text()) == pid
        return False
    return spawn_and_wait(argv, target.run_dir / LOG_FILE, listening, what="SNMP agent")


def stop(target: Target) -> bool:
    """Stop the agent spawned for ``target`` (SIGTERM, then SIGKILL); True if one ran."""
    pid = running_pid(target)
    if pid is None:
        return False
    # by the PID, not the file: the agent removes its PID file as it begins to stop
    end_pid(pid, lambda: is_agent(pid, target.state_dir))
    (target.run_dir / PID_FILE).unlink(missing_ok=True)  # a SIGKILL leaves it
    return True


def ensure_running(target: Target) -> int | None:
    """Start the agent where its apply would (``spawns_here``), the configuration asks for
    it and none runs; its PID if started (the dev runner's supervision of one that died)."""
    if not spawns_here(target) or not wanted(target) or running_pid(target) is not None:
        return None
    return start(target)


class SnmpService(Supervisor):
    """The dev runner's supervision of the agent (``Supervisor``), on the loopback port the
    runner was given."""

    name, what = "snmp", "SNMP agent"

    def __init__(self, target: Target, *, host: str = "127.0.0.1", port: int = 1161) -> None:
        super().__init__(target)
        self.listen = f"{host}:{port}"

    def ensure(self) -> int | None:
        """Start the agent if it should run and does not."""
        return ensure_running(self.target)

    def start(self) -> None:
        """Record the runner's port and move a running agent there; start one if none runs."""
        if spawns_here(self.target) and record_listen(self.target, self.listen) \
                and stop(self.target):
            log.info("snmp: the agent stopped, to listen on %s", self.listen)
        super().start()
