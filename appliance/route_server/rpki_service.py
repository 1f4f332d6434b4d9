"""stayrtr on the box: serves an imported VRP file to the route server over RTR (offline-capable).

The operator exports validated ROAs elsewhere (rpki-client or Routinator JSON) and imports the
file; the route server's RPKI validator entry pointing at this box's loopback (127.0.0.1:3323
by default) then gets its data from here.

On the image ``ixp-stayrtr.service`` runs it (``ixpctl run stayrtr``, :func:`exec_foreground`);
in a lab the route-server concern's apply spawns it and the dev runner starts again one that
died (:class:`RpkiService`). Both go through :mod:`appliance.platform.launcher`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from appliance.platform.launcher import Launcher, Supervisor
from appliance.platform.target import Target
from appliance.route_server.aspa import parse_aspas
from appliance.route_server.rtr import stayrtr_argv
from appliance.util.atomic import atomic_write

# ``ixpctl run bird`` asks only where stayrtr listens, from the rendered bird.conf: the model
# (and parsing a 1000-member configuration) and pyroute2 are imported where used.
if TYPE_CHECKING:
    from appliance.config.model import IXPConfig

VRP_FILE = "rpki/vrps.json"
log_ = logging.getLogger(__name__)
BIRD_CONF = Path("etc") / "bird" / "bird.conf"  # as the route-server concern installs it
STAYRTR_LISTEN = "stayrtr/listen"  # under etc/: where stayrtr listens, installed beside it
# protocol rpki rpkiN { ... remote "HOST" port P; ... } in the rendered file: the lines of
# the block (none starts with "}" before its end) up to its remote line
_RPKI_REMOTE = re.compile(
    r'^protocol rpki \w+ \{\n(?:(?!\})[^\n]*\n)*?[ \t]*remote "([^"]+)" port (\d+);', re.M)
LOCAL_HOSTS = ("127.0.0.1", "::1", "localhost")
METRICS = "127.0.0.1:9847"


def vrp_path(state_dir: Path) -> Path:
    """Where the imported VRP file lives."""
    return state_dir / VRP_FILE


def check_vrps(text: str) -> int:
    """Validate a VRP export; returns how many ROAs it holds or raises ``ValueError``.

    Its ASPA part (``aspas``, rpki-client's export) is checked too (:func:`aspa.parse_aspas`):
    the route server renders those records into bird.conf, so a bad one is refused here.
    """
    data = json.loads(text)
    roas = data.get("roas") if isinstance(data, dict) else None
    if not isinstance(roas, list) or not roas:
        raise ValueError("no 'roas' list: export it from rpki-client or Routinator as JSON")
    for i, roa in enumerate(roas):
        if not isinstance(roa, dict) or not {"prefix", "asn"} <= set(roa):
            raise ValueError(f"roas[{i}] needs 'prefix' and 'asn'")
    parse_aspas(data)
    return len(roas)


def aspa_count(text: str) -> int:
    """How many (unexpired) ASPA records a VRP export holds; raises ``ValueError`` if bad."""
    return len(parse_aspas(json.loads(text)).records)


def import_vrps(state_dir: Path, source: Path) -> int:
    """Check and install a VRP file (atomically); returns the number of ROAs.

    The route server's ASPA records come from this file too: the caller re-applies the
    configuration so that they reach bird.conf.
    """
    text = source.read_text("utf-8")
    count = check_vrps(text)
    atomic_write(vrp_path(state_dir), text.encode("utf-8"), 0o644)
    return count


def local_validator(cfg: IXPConfig) -> str | None:
    """``host:port`` of a validator entry on this box, if the config has one."""
    for v in cfg.route_server.rpki_validators:
        bind = _local_bind(v.host, v.port)
        if bind is not None:
            return bind
    return None


def _local_bind(host: str, port: int | str) -> str | None:
    if host not in LOCAL_HOSTS:
        return None
    return f"{'[::1]' if host == '::1' else '127.0.0.1'}:{port}"


def local_validator_in_conf(text: str) -> str | None:
    """``host:port`` of the first RPKI validator on this box in a rendered bird.conf."""
    for host, port in _RPKI_REMOTE.findall(text):
        bind = _local_bind(host, port)
        if bind is not None:
            return bind
    return None


def serving_installed(state_dir: Path) -> tuple[str | None, str]:
    """``serving`` from the installed files instead of the model (``ixpctl run bird|stayrtr``).

    The route-server concern installs ``etc/stayrtr/listen`` (the bind, or an empty line)
    beside bird.conf; a state directory from before that file reads bird.conf itself.
    """
    try:
        line = (Path(state_dir) / "etc" / STAYRTR_LISTEN).read_text("utf-8").strip()
        return _serving(state_dir, line or None)
    except FileNotFoundError:
        pass
    try:
        text = (Path(state_dir) / BIRD_CONF).read_text("utf-8")
    except FileNotFoundError:
        return None, "no configuration applied yet"
    except PermissionError:  # stayrtr's own user may not read bird.conf (its secrets)
        return None, (f"{Path(state_dir) / 'etc' / STAYRTR_LISTEN} is missing: re-apply the "
                      "configuration (ixpctl restore) to install it")
    return _serving(state_dir, local_validator_in_conf(text))


def serving(state_dir: Path, cfg: IXPConfig | None) -> tuple[str | None, str]:
    """Where stayrtr should listen for ``cfg`` (None: it has nothing to do), and why."""
    if cfg is None:
        return None, "no configuration committed yet"
    return _serving(state_dir, local_validator(cfg))


def _serving(state_dir: Path, bind: str | None) -> tuple[str | None, str]:
    if bind is None:
        return None, "no RPKI validator on this box (route_server.rpki_validators)"
    if not vrp_path(state_dir).exists():
        return None, f"no VRP file imported yet ({vrp_path(state_dir)}; ixpctl rpki import)"
    return bind, f"serving {vrp_path(state_dir)} on {bind}"


def wait_listening(bind: str, target: Target, timeout: float = 15.0,
                   alive: Callable[[], bool] = lambda: True) -> bool:
    """Wait until something listens on ``bind``'s TCP port (in ``target``'s namespace); True
    if it does."""
    port = bind.rsplit(":", 1)[1]
    argv = target.command(["ss", "-ltnH", f"sport = :{port}"])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and alive():
        out = subprocess.run(argv, capture_output=True, text=True, timeout=5, check=False)
        if out.stdout.strip():
            return True
        time.sleep(0.1)
    return False


def exec_foreground(target: Target) -> str:
    """Become stayrtr for the committed configuration (``ixpctl run stayrtr``).

    Returns (without exec) the reason when there is nothing to serve, so the unit ends
    cleanly instead of failing the boot.
    """
    # the installed bird.conf, not the committed model: the pipeline restarts stayrtr while it
    # applies a change (RouteServerConcern.apply), before that change is committed
    bind, why = serving_installed(target.state_dir)
    if bind is None:
        return why
    argv = target.command(stayrtr_argv(vrp_path(target.state_dir), bind=bind,
                                       metrics=METRICS))
    os.execvp(argv[0], argv)
    return why  # not reached: exec replaced this process


def connect_route_server(state_dir: Path) -> list[str]:
    """Have BIRD's RTR sessions connect now, where they hold no ROA yet; returns their names.

    BIRD retries a failed RTR connection only every 90 s (main.j2), so a first import would
    wait that long. Restarting a session that holds nothing flushes nothing; sessions with
    ROAs are left alone (they reconnect by themselves and keep their ROAs meanwhile).
    """
    from appliance.platform.bird import query
    from appliance.platform.bird.replies import BirdError
    from appliance.route_server.status import rtr_sessions

    held = rtr_sessions(state_dir)
    if not held["running"] or any(held["roas"].values()):
        return []
    kicked = []
    for s in held["sessions"]:
        if not s["up"]:
            try:
                query.query(query.route_server_socket(state_dir), f"restart {s['protocol']}",
                            timeout=10)
                kicked.append(s["protocol"])
            except (BirdError, OSError) as exc:
                log_.warning("could not restart %s: %s", s["protocol"], exc)
    return kicked


PIDFILE = "stayrtr.pid"  # in run/: the stayrtr spawned off the image (systemd's has none)
# Popen objects of the stayrtr processes this process spawned, so that stopping one reaps it.
_STARTED: dict[int, subprocess.Popen[bytes]] = {}


def running_pid(target: Target) -> int | None:
    """The PID of the stayrtr spawned for ``target`` off the image, if it still runs."""
    try:
        pid = int((target.run_dir / PIDFILE).read_text().split()[0])
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError, IndexError):
        return None
    # a stale PID file may name an unrelated process by now: only ever signal our stayrtr
    return pid if b"stayrtr" in cmdline and str(vrp_path(target.state_dir)).encode() \
        in cmdline else None


def _spawn(target: Target, bind: str) -> int:
    """Start stayrtr in ``target``'s namespace on the imported VRP file, in a session of its
    own (it outlives the CLI or request that applied), and wait until it listens."""
    argv = target.command(stayrtr_argv(vrp_path(target.state_dir), bind=bind, metrics=METRICS))
    target.run_dir.mkdir(parents=True, exist_ok=True)
    with open(target.run_dir / "stayrtr.log", "ab") as out:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    _STARTED[proc.pid] = proc
    atomic_write(target.run_dir / PIDFILE, f"{proc.pid}\n".encode(), 0o644)
    # BIRD asks again only 90 s after a failed first try (main.j2): once stayrtr listens, a
    # BIRD already running is asked to connect now
    if not wait_listening(bind, target, alive=lambda: proc.poll() is None):
        log_.warning("stayrtr does not listen on %s (see %s)", bind,
                     target.run_dir / "stayrtr.log")
    else:
        connect_route_server(target.state_dir)
    return proc.pid


def _kill(target: Target, timeout: float = 5.0) -> bool:
    """Stop the stayrtr spawned for ``target`` (SIGTERM, then SIGKILL); True if one ran."""
    pid = running_pid(target)
    (target.run_dir / PIDFILE).unlink(missing_ok=True)
    if pid is None:
        return False
    proc = _STARTED.pop(pid, None)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        if proc is not None and proc.poll() is not None:
            return True
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    if proc is not None:
        proc.wait()
    return True


def ensure_running(target: Target) -> int | None:
    """Start stayrtr off the image when the installed files say it should serve and none runs
    (the concern's apply, and the dev runner's supervision of what died); its PID if started.
    On the image systemd runs and restarts ``ixp-stayrtr.service``: nothing is done here."""
    if not target.has_system or not Launcher(target).spawns \
            or running_pid(target) is not None:
        return None
    bind, _why = serving_installed(target.state_dir)
    return _spawn(target, bind) if bind is not None else None


def stop(target: Target) -> bool:
    """Stop the stayrtr spawned for ``target`` off the image (lab teardown); True if one ran."""
    return _kill(target)


def sync(target: Target) -> str:
    """Make stayrtr follow the installed config and VRP file (restart or stop): the image's
    unit through systemd, elsewhere the process spawned for ``target``'s namespace.

    Where to listen comes from the installed bird.conf (what BIRD asks), as for ``ixpctl run
    stayrtr``.
    """
    launcher = Launcher(target)
    bind, why = serving_installed(target.state_dir)
    if not launcher.systemd:
        if not target.has_system or not launcher.spawns:
            return "no network of ours to serve it in here (config only)"
        if bind is None:
            return f"stayrtr stopped: {why}" if _kill(target) else f"stayrtr not run: {why}"
        _kill(target)
        _spawn(target, bind)
        return f"stayrtr restarted: {why}"
    if bind is None:
        launcher.stop("stayrtr", lambda: False)
        return f"stayrtr stopped: {why}"
    launcher.restart("stayrtr", lambda: None, lambda: None)
    # at boot (deferred: systemd orders stayrtr before BIRD) there is nothing to hurry
    if not launcher.deferred and wait_listening(bind, target):
        connect_route_server(target.state_dir)
    return f"ixp-stayrtr.service restarted: {why}"


class RpkiService(Supervisor):
    """The dev runner's supervision of stayrtr (``Supervisor``): the route-server concern
    starts it where the configuration asks for one (``ensure_running``); this starts it
    again if it died."""

    name, what = "rpki", "stayrtr"

    def ensure(self) -> int | None:
        """Start stayrtr if the installed files ask for it and none runs."""
        return ensure_running(self.target)
