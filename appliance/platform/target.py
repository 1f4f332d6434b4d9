"""Where the box runs: the state directory's layout and the network it may change.

The appliance runs in one of two places. On the flashed image it owns the host: its daemons
are systemd units and its network is the machine's. Everywhere else (a developer machine, the
lab, the tests) it runs in a state directory of its own, and its network is a namespace the lab
or the test made, never the developer's. A ``Target`` names both, and every path of the state
directory is spelled here once, so no capability builds one by hand.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from appliance.platform import netns
from appliance.util.sockets import socket_path

# Written into the image by build-image.sh: this host is the appliance and its network is ours.
IMAGE_MARKER = Path("/etc/ixp-appliance/appliance-image")
# The one state directory the image's units are written for (systemd/*.service).
IMAGE_STATE_DIR = Path("/var/lib/ixp-appliance")


def on_image() -> bool:
    """Whether this host is the flashed appliance image."""
    return IMAGE_MARKER.exists()


class TargetRefused(RuntimeError):
    """Applying would touch the host's own network outside the appliance image."""


@dataclass(frozen=True)
class Target:
    """A state directory, and the network namespace its system lives in (None: this host)."""

    state_dir: Path
    netns: str | None = None

    # -- the state directory's layout ----------------------------------------------------

    @property
    def etc_dir(self) -> Path:
        """Installed (running) rendered files."""
        return self.state_dir / "etc"

    @property
    def run_dir(self) -> Path:
        """Sockets, PID files and daemon logs."""
        return self.state_dir / "run"

    @property
    def bird_socket(self) -> Path:
        """The route server's control socket (birdc), shortened if the path is too long."""
        return socket_path(self.run_dir / "bird.ctl")

    @property
    def apply_socket(self) -> Path:
        """The privileged apply helper's socket (``ixp-apply``): ``/run/ixp-appliance`` on the
        image (``ixp-apply.socket``), the state dir's ``run/`` elsewhere."""
        if self.netns is None and on_image() and self.state_dir == IMAGE_STATE_DIR:
            return Path("/run/ixp-appliance/apply.sock")
        return socket_path(self.run_dir / "apply.sock")

    @property
    def web_uploads(self) -> Path:
        """Uploads the web UI hands to the apply helper (``web/uploads/``, the web's own)."""
        return self.state_dir / "web" / "uploads"

    @property
    def alerts_dir(self) -> Path:
        """The alert engine's open and past alerts and its delivery log (``alerts/``)."""
        return self.state_dir / "alerts"

    @property
    def alerts_state(self) -> Path:
        """Open, pending and past alerts (``alerts/state.json``, replaced atomically)."""
        return self.alerts_dir / "state.json"

    @property
    def alerts_deliveries(self) -> Path:
        """The delivery log and the retry queue (``alerts/deliveries.json``)."""
        return self.alerts_dir / "deliveries.json"

    @property
    def report_mail(self) -> Path:
        """Which monthly report card went to which member, and the failures to try again
        (``alerts/monthly.json``)."""
        return self.alerts_dir / "monthly.json"

    @property
    def report_mail_lock(self) -> Path:
        """Held by the one monthly report run under way (``alerts/monthly.lock``)."""
        return self.alerts_dir / "monthly.lock"

    # -- the network ---------------------------------------------------------------------

    @property
    def has_system(self) -> bool:
        """Whether there is a network to change: the lab's namespace, or the image's host.

        Without one (a developer machine with no lab running) a change is config-only: files
        are rendered, verified and committed, and nothing on the network is touched.
        """
        return self.netns is not None or on_image() or bool(
            os.environ.get("IXP_ALLOW_HOST_NETWORK"))

    def require_system(self) -> None:
        """Refuse to touch the host network except on the appliance image.

        On a developer machine every system change must go into a namespace (the lab's); the
        host's own interfaces, routes and firewall are never ours to change.
        """
        if not self.has_system:
            raise TargetRefused(
                "this is not the appliance image, so changes to the network must go into a lab "
                "namespace: start one with 'ixpctl lab up' or pass --netns"
            )

    def command(self, argv: Sequence[str]) -> list[str]:
        """``argv`` to run in this target's network namespace."""
        return netns.command(self.netns, argv) if self.netns else list(argv)


def as_target(where: Target | str | Path) -> Target:
    """``where`` as a ``Target``: a bare state directory is one on this host (no namespace)."""
    return where if isinstance(where, Target) else Target(Path(where))
