"""Where the resolver's files live below a state directory.

The rendered ``unbound.conf`` names no absolute path, so the same bytes are right for any state
directory (the image's and every lab's). The few absolute paths unbound needs (its working
directory, PID file, control socket) go into a small launch file written next to the PID file;
it includes the rendered file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from appliance.util.sockets import socket_path

CONF = "unbound/unbound.conf"  # relative to etc/, as rendered
# The trust anchor in unbound's working directory: render.TRUST_ANCHOR_FILE, here for the
# wrapper that must not import the renderer (a test keeps the two equal).
TRUST_ANCHOR_FILE = "root.key"
ROOT_ZONE_FILE = "root.zone"  # render.ROOT_ZONE_FILE, for readers of the status (same test)


@dataclass(frozen=True)
class UnboundPaths:
    """Every path of one resolver instance."""

    state_dir: Path

    @property
    def conf(self) -> Path:
        """The installed, rendered configuration."""
        return self.state_dir / "etc" / CONF

    @property
    def data_dir(self) -> Path:
        """unbound's working directory: the root zone copy and the trust anchor (writable)."""
        return self.state_dir / "unbound"

    @property
    def run_dir(self) -> Path:
        """PID file, control socket and the launch file."""
        return self.state_dir / "run" / "unbound"

    @property
    def launch_conf(self) -> Path:
        """The file unbound is started with (``-c``); includes :attr:`conf`."""
        return self.run_dir / "launch.conf"

    @property
    def pidfile(self) -> Path:
        """Written by unbound itself."""
        return self.run_dir / "unbound.pid"

    @property
    def started_pid(self) -> Path:
        """The PID of the process we started (the ``ip netns exec`` child, i.e. unbound)."""
        return self.run_dir / "started.pid"

    @property
    def listen_record(self) -> Path:
        """The listening addresses unbound was started with (a reload cannot change them)."""
        return self.run_dir / "listening"

    @property
    def control_socket(self) -> Path:
        """unbound-control's unix socket (a short stand-in when the state dir is deep)."""
        return socket_path(self.run_dir / "control.sock")

    @property
    def log_file(self) -> Path:
        """unbound's stderr (it logs there when started in the foreground)."""
        return self.run_dir / "unbound.log"
