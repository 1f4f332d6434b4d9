"""The route server's BIRD as a service of the dev runner (systemd runs it on the image)."""

from __future__ import annotations

import logging
from pathlib import Path

from appliance.bird import daemon
from appliance.bird.control import BirdControl, BirdUnavailable
from appliance.pipeline.concern import ApplyContext

log = logging.getLogger(__name__)


def answering(ctx: ApplyContext) -> bool:
    """Whether a BIRD answers on the state dir's control socket."""
    ctl = ctx.run_dir / daemon.SOCKET
    if not ctl.exists():
        return False
    try:
        with BirdControl(ctl) as bc:
            bc.status()
        return True
    except (BirdUnavailable, OSError):
        return False


def ensure_running(ctx: ApplyContext) -> int | None:
    """Start BIRD on the installed config unless one already answers; its PID if we started it.

    Does nothing where there is no network of our own (a developer machine without a lab) or
    nothing to run yet (no configuration applied).
    """
    if not ctx.has_system or not (ctx.etc_dir / daemon.CONF).exists() or answering(ctx):
        return None
    return daemon.start_bird(ctx)


class RouteServerService:
    """Keeps the route server running while the runner runs; stops only a BIRD it started."""

    name = "route_server"

    def __init__(self, state_dir: Path, netns: str | None) -> None:
        self.ctx = ApplyContext(Path(state_dir), netns)
        self.pid: int | None = None

    def start(self) -> None:
        """Start BIRD if needed."""
        self.pid = ensure_running(self.ctx)
        if self.pid:
            log.info("route server BIRD started (PID %s)", self.pid)

    def stop(self) -> None:
        """Stop the BIRD this service started (a lab's or systemd's BIRD is left alone)."""
        if self.pid:
            daemon.stop_bird(self.pid)
            self.pid = None
