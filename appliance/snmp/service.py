"""``SnmpService``: the agent as a child process of the dev runner (``ixpctl up``).

The agent runs in its own process (its asyncio loop and pysnmp stay out of the web server's
way, and the concern can signal it by PID). On the image systemd runs the same command.
"""

from __future__ import annotations

import contextlib
import logging
import subprocess
import sys
import time
from pathlib import Path

from appliance.platform.bird.control import route_server_socket
from appliance.platform.target import Target
from appliance.snmp.paths import AGENT_FILE, PID_FILE

log = logging.getLogger(__name__)


def agent_command(target: Target, *,
                  listen: list[str] | None = None, bird_socket: str | None = None,
                  python: str = sys.executable) -> list[str]:
    """The command line that runs the agent for ``target``."""
    state_dir = target.state_dir
    cmd = [python, "-m", "appliance.snmp", "--config", str(state_dir / "etc" / AGENT_FILE),
           "--state-dir", str(state_dir), "--pid-file", str(state_dir / "run" / PID_FILE)]
    if target.netns:
        cmd += ["--netns", target.netns]
    for item in listen or []:
        cmd += ["--listen", item]
    if bird_socket:
        cmd += ["--bird-socket", bird_socket]
    return cmd


class SnmpService:
    """Starts and stops the agent process (the runner's service interface)."""

    name = "snmp"

    def __init__(self, target: Target, *,
                 host: str | None = "127.0.0.1", port: int = 1161,
                 bird_socket: str | None = None) -> None:
        self.state_dir = Path(target.state_dir)
        self.target = target
        # None: the addresses the configuration gives (the management NIC, on the image)
        self.listen = [f"{host}:{port}"] if host else []
        # The dev runner's BIRD listens here (appliance.route_server.daemon); until it runs, the
        # agent serves BGP4-MIB without peers and logs once that BIRD cannot be asked.
        self.bird_socket = bird_socket or str(route_server_socket(self.state_dir))
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the agent if its configuration has been rendered."""
        config = self.state_dir / "etc" / AGENT_FILE
        if not config.exists():
            log.info("snmp: %s not rendered yet; agent not started", config)
            return
        (self.state_dir / "run").mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(agent_command(
            self.target, listen=self.listen,
            bird_socket=self.bird_socket))

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after five seconds."""
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self.proc = None

    def wait_ready(self, timeout: float = 10.0) -> bool:
        """Whether the agent wrote its PID file (it binds its sockets first) within ``timeout``."""
        deadline = time.monotonic() + timeout
        pid_file = self.state_dir / "run" / PID_FILE
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                return False
            with contextlib.suppress(OSError, ValueError):
                if self.proc is not None and int(pid_file.read_text()) == self.proc.pid:
                    return True
            time.sleep(0.05)
        return False
