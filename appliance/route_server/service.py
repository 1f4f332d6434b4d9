"""The route server's BIRD as a service of the dev runner (systemd runs it on the image), and
the check that the running BIRD runs the installed configuration."""

from __future__ import annotations

import logging
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from appliance.platform.bird.control import BirdControl, BirdUnavailable
from appliance.platform.bird.replies import BirdError
from appliance.platform.launcher import Supervisor
from appliance.platform.target import Target
from appliance.route_server import daemon

log = logging.getLogger(__name__)


def answering(target: Target) -> bool:
    """Whether a BIRD answers on the state dir's control socket."""
    ctl = daemon.control_socket(target)
    if not ctl.exists():
        return False
    try:
        with BirdControl(ctl) as bc:
            bc.status()
        return True
    except (BirdUnavailable, OSError):
        return False


def ensure_running(target: Target) -> int | None:
    """Start BIRD on the installed config unless one already answers; its PID if we spawned it
    (None when none was needed, or when systemd started it on the image). The route-server
    concern's apply starts it (off the image); the dev runner calls this again to start a
    BIRD that died.

    Does nothing where there is no network of our own (a developer machine without a lab) or
    nothing to run yet (no configuration applied).
    """
    if not target.has_system or not (target.etc_dir / daemon.CONF).exists() or answering(target):
        return None
    return daemon.start_bird(target)


class RouteServerService(Supervisor):
    """The dev runner's supervision of the route server's BIRD (``Supervisor``): the
    concern's apply starts it; this starts it again if it died."""

    name, what = "route_server", "route server BIRD"

    def ensure(self) -> int | None:
        """Start BIRD if it should run and does not."""
        return ensure_running(self.target)


# "protocol bgp rs_as64501_1 {", "protocol device {", "protocol rpki rpki1 {" ...
_PROTOCOL = re.compile(r"^protocol\s+(\w+)(?:\s+(\w+))?\s*(?:from\s+\w+\s*)?\{", re.M)
_ROUTER_ID = re.compile(r"^router id ([0-9.]+);", re.M)


@dataclass
class RunningConfig:
    """Whether the state dir's BIRD runs its installed configuration, and the evidence.

    Every item comes from BIRD or the kernel, not from a record of ours: the program's own
    ``-c`` argument, BIRD's "last reconfiguration" time against the file's modification time,
    and BIRD's router id and protocols against the file's.
    """

    installed: str  # path of the installed bird.conf
    answering: bool = False
    pid: int | None = None
    config_argument: str | None = None  # the -c that BIRD was started with
    loaded_after_install: bool = False
    router_id: str = ""
    version: str = ""  # the running BIRD's own version ("2.0.12"), from show status
    configured: list[str] = field(default_factory=list)  # protocols in the installed file
    running: list[str] = field(default_factory=list)  # protocols BIRD has
    bgp_sessions: int = 0
    established: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """BIRD answers and runs the installed file, as loaded after its last change."""
        return self.answering and not self.problems

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {**asdict(self), "ok": self.ok}


def _bird_time(text: str) -> float | None:
    # BIRD prints local time, "2026-11-23 22:33:12.072" (timeformat base iso long ms).
    try:
        return time.mktime(time.strptime(text.strip()[:19], "%Y-%m-%d %H:%M:%S"))
    except ValueError:
        return None


def configured_protocols(conf_text: str) -> list[str]:
    """The protocol names a BIRD gives the file's protocols (unnamed ones: type + number)."""
    names: list[str] = []
    counters: dict[str, int] = {}
    for kind, name in _PROTOCOL.findall(conf_text):
        if name:
            names.append(name)
        else:
            counters[kind] = counters.get(kind, 0) + 1
            names.append(f"{kind}{counters[kind]}")
    return names


def running_config(target: Target) -> RunningConfig:
    """Check that the state dir's BIRD runs the installed ``bird/bird.conf``."""
    conf = target.etc_dir / daemon.CONF
    report = RunningConfig(installed=str(conf))
    if not conf.exists():
        report.problems.append("no configuration installed yet")
        return report
    text = conf.read_text(errors="replace")
    report.configured = configured_protocols(text)
    report.pid = daemon.running_pid(target)
    if report.pid is not None:
        try:
            argv = Path(f"/proc/{report.pid}/cmdline").read_bytes().split(b"\0")
            args = [a.decode(errors="replace") for a in argv]
            report.config_argument = args[args.index("-c") + 1] if "-c" in args else None
        except (OSError, IndexError):
            report.config_argument = None
    if report.config_argument != str(conf):
        report.problems.append(f"BIRD was started with {report.config_argument or 'no -c'}, "
                               f"not {conf}")
    try:
        with BirdControl(daemon.control_socket(target), timeout=10) as bc:
            status = bc.status()
            protocols = bc.protocols()
    except (BirdUnavailable, BirdError, OSError) as exc:
        report.problems.append(f"BIRD does not answer: {exc}")
        return report
    report.answering = status.up
    if not status.up:
        report.problems.append(f"BIRD is not up: {status.message}")
    report.router_id = status.router_id
    report.version = status.version
    report.running = [p.name for p in protocols]
    bgp = [p for p in protocols if p.proto == "BGP"]
    report.bgp_sessions, report.established = len(bgp), sum(p.established for p in bgp)
    loaded = _bird_time(status.last_reconfiguration)
    # mtime has sub-second precision, BIRD's clock reading is cut to whole seconds here.
    report.loaded_after_install = loaded is not None and loaded >= int(conf.stat().st_mtime)
    if not report.loaded_after_install:
        report.problems.append("BIRD last read its configuration before the installed file "
                               "was written")
    wanted_id = _ROUTER_ID.search(text)
    if wanted_id and wanted_id.group(1) != status.router_id:
        report.problems.append(f"BIRD's router id is {status.router_id}, the installed file "
                               f"says {wanted_id.group(1)}")
    if sorted(report.running) != sorted(report.configured):
        missing = sorted(set(report.configured) - set(report.running))
        extra = sorted(set(report.running) - set(report.configured))
        report.problems.append(f"BIRD's protocols differ from the installed file's (missing "
                               f"{missing or 'none'}, extra {extra or 'none'})")
    return report
