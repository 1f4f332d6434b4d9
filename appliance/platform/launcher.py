"""Who starts and stops the appliance's daemons: systemd on the image, the caller elsewhere.

On the flashed image every daemon (BIRD, unbound, stayrtr, the SNMP agent, ...) is a systemd
unit (``systemd/ixp-*.service``), so when the pipeline needs one started, restarted or stopped
it asks systemd, which then supervises the process (restart on failure, ordering at boot,
journal). Everywhere else (a developer machine, the lab, the tests, a second state directory on
the image) the caller spawns the process itself, as the dev runner always did.

This module is the one place that makes that decision, so concerns never test for the image
themselves. Reconfiguring a running daemon stays with the daemon's control socket (``birdc
configure``, ``unbound-control reload``): that is the same on both.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from appliance.platform.target import IMAGE_MARKER, IMAGE_STATE_DIR, Target
from appliance.util.atomic import atomic_write

# Exists only while systemd is PID 1 (sd_booted(3)); absent in chroots and containers.
SYSTEMD_RUNTIME = Path("/run/systemd/system")
# Set by ixp-restore.service: the daemons' units are ordered after it, so a blocking start
# from inside it would wait for itself. There a start is only queued (systemd runs it next).
BOOT_RESTORE_ENV = "IXP_BOOT_RESTORE"

# The daemons by the names the code uses, and their units on the image.
UNITS: dict[str, str] = {
    "bird": "ixp-bird.service",
    "unbound": "ixp-unbound.service",
    "stayrtr": "ixp-stayrtr.service",
    "snmp": "ixp-snmp.service",
    "collector": "ixp-collector.service",
    "web": "ixp-web.service",
    "anycast": "ixp-anycast.service",
}

T = TypeVar("T")
log = logging.getLogger(__name__)


def spawns_here(target: Target) -> bool:
    """Whether a daemon of ``target`` is started by its concern's apply (spawned: a lab's
    namespace, a host that is not the image); on the image its unit runs it, and without a
    network of our own (config only) nothing runs."""
    return target.has_system and Launcher(target).spawns


def ixpctl_argv(*args: str) -> list[str]:
    """``ixpctl ARGS`` as this interpreter runs it (the same code as the caller's)."""
    return [sys.executable, "-m", "appliance.cli", *args]


def spawn_detached(argv: Sequence[str], log: Path) -> subprocess.Popen[bytes]:
    """Start ``argv`` off the image, as a unit would: in a session of its own, so it outlives
    the CLI or request that applied (the state directory's, until ``ixpctl lab down``), its
    output appended to ``log``. The caller records or awaits its PID file."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        return subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)


def log_tail(path: Path, lines: int = 6) -> str:
    """The last lines of a spawned daemon's log ("" if there is none yet)."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class SpawnError(RuntimeError):
    """A spawned daemon exited at start or never came up; the text carries its log's end."""


def spawn_and_wait(argv: Sequence[str], log_file: Path, ready: Callable[[int], bool], *,
                   what: str, pid_file: Path | None = None, timeout: float = 60.0) -> int:
    """``spawn_detached`` and wait until ``ready(pid)``; the PID (recorded in ``pid_file``
    when the daemon writes none itself). Raises ``SpawnError`` with the log's last lines if
    it exits first or is not ready in ``timeout`` (then it is ended)."""
    proc = spawn_detached(argv, log_file)
    if pid_file is not None:
        atomic_write(pid_file, f"{proc.pid}\n".encode(), 0o644)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SpawnError(f"the {what} exited at start (code {proc.returncode}): "
                             f"{log_tail(log_file)}")
        if ready(proc.pid):
            return proc.pid
        time.sleep(0.1)
    end_pid(proc.pid, lambda: proc.poll() is None)
    raise SpawnError(f"the {what} did not come up in {timeout:.0f} s: {log_tail(log_file)}")


class Supervisor:
    """The dev runner's supervision of one daemon that its concern's apply starts (the
    lifecycle rule): ``start`` and every ``check`` start it again if it should run and does
    not (``ensure``). ``stop`` does nothing: the daemon is the state directory's, like a
    unit's, and ``ixpctl lab down`` (or the demo's end) stops it, not the runner."""

    name = ""
    what = ""  # the daemon, in the log's words

    def __init__(self, target: Target) -> None:
        self.target = target

    def ensure(self) -> int | None:
        """Start the daemon if it should run and does not; its PID if started."""
        raise NotImplementedError

    def start(self) -> None:
        """Start the daemon if it should run and does not."""
        pid = self.ensure()
        if pid:
            log.info("%s started (PID %s)", self.what, pid)

    def check(self) -> None:
        """One round of supervision: start again a daemon that died."""
        self.start()

    def stop(self) -> None:
        """Nothing: the daemon stays with the applied configuration (see the class)."""


def end_pid(pid: int, is_ours: Callable[[], bool], timeout: float = 10.0) -> None:
    """Stop a process spawned off the image by its PID: SIGTERM, then SIGKILL after
    ``timeout`` (a helper withdraws its announcements on SIGTERM); reaped if it is our child.
    ``is_ours()`` says whether the PID still names that process (a PID is reused)."""
    def reap() -> None:
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)

    if not is_ours():
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and is_ours():
        reap()
        time.sleep(0.05)
    if is_ours():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, 0)
    reap()


class LaunchError(RuntimeError):
    """systemd refused to start, restart or stop a unit; the text carries its words."""


def _same_dir(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def systemd_manages(state_dir: Path, netns: str | None, *, marker: Path = IMAGE_MARKER,
                    runtime: Path = SYSTEMD_RUNTIME,
                    image_state_dir: Path = IMAGE_STATE_DIR) -> bool:
    """Whether systemd runs the daemons of ``state_dir`` in ``netns``.

    Only on the image (the marker), booted by systemd, for the image's own state directory in
    the host's namespace: a lab namespace or another state directory on the image (tests) is
    still the caller's to run, and a developer machine never has the marker.
    """
    return (netns is None and marker.exists() and runtime.is_dir()
            and _same_dir(Path(state_dir), image_state_dir))


def systemctl_argv(action: str, name: str, *options: str, no_block: bool = False) -> list[str]:
    """``systemctl`` command line for ``action`` (start, stop, restart, ...) on daemon ``name``."""
    unit = UNITS[name]
    systemctl = shutil.which("systemctl") or "/usr/bin/systemctl"
    return [systemctl, *(["--no-block"] if no_block else []), action, *options, unit]


def at_boot_restore() -> bool:
    """Whether we run inside ixp-restore.service (starts must not wait; see BOOT_RESTORE_ENV)."""
    return os.environ.get(BOOT_RESTORE_ENV) == "1"


class Launcher:
    """Start, restart and stop one state directory's daemons the way this machine does it."""

    def __init__(self, target: Target, *, systemd: bool | None = None) -> None:
        self.target = target
        self.state_dir, self.netns = Path(target.state_dir), target.netns
        self.systemd = systemd_manages(self.state_dir, self.netns) if systemd is None \
            else systemd

    def _systemctl(self, action: str, name: str, *, no_block: bool = False,
                   timeout: float = 120) -> None:
        argv = systemctl_argv(action, name, no_block=no_block)
        try:
            res = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                                 check=False)
        except subprocess.TimeoutExpired:
            raise LaunchError(f"systemctl {action} {UNITS[name]} did not finish in "
                              f"{timeout:g} s") from None
        if res.returncode != 0:
            raise LaunchError(f"systemctl {action} {UNITS[name]} failed: "
                              f"{(res.stderr or res.stdout).strip()}")

    @property
    def spawns(self) -> bool:
        """Whether the caller spawns the daemons for this target: in a namespace of ours (the
        lab's), or on a host that is not the image. On the image's own namespace systemd's
        units run them; another state directory there is a test's, which starts what it
        needs itself."""
        return not self.systemd and (self.netns is not None or not IMAGE_MARKER.exists())

    @property
    def deferred(self) -> bool:
        """Starts are only queued (the boot restore): the caller must not wait for readiness."""
        return self.systemd and at_boot_restore()

    def start(self, name: str, spawn: Callable[[], T]) -> T | None:
        """Start daemon ``name``: ``systemctl start`` on the image (None), else ``spawn()``."""
        if not self.systemd:
            return spawn()
        self._systemctl("start", name, no_block=self.deferred)
        return None

    def restart(self, name: str, stop: Callable[[], object],
                spawn: Callable[[], T]) -> T | None:
        """Restart daemon ``name``: ``systemctl restart`` on the image, else stop then spawn."""
        if not self.systemd:
            stop()
            return spawn()
        self._systemctl("restart", name, no_block=self.deferred)
        return None

    def stop(self, name: str, kill: Callable[[], bool]) -> bool:
        """Stop daemon ``name``; True if it was running. ``kill()`` does it off the image."""
        if not self.systemd:
            return kill()
        was_active = self.active(name)
        self._systemctl("stop", name, no_block=at_boot_restore())
        return was_active

    def active(self, name: str) -> bool:
        """Whether systemd reports daemon ``name``'s unit active (False off the image)."""
        if not self.systemd:
            return False
        res = subprocess.run(systemctl_argv("is-active", name), capture_output=True,
                             text=True, timeout=30, check=False)
        return res.stdout.strip() in ("active", "activating", "reloading")

    def main_pid(self, name: str) -> int | None:
        """The PID systemd supervises for daemon ``name`` (None when not running or not ours)."""
        if not self.systemd:
            return None
        res = subprocess.run(systemctl_argv("show", name, "-p", "MainPID", "--value"),
                             capture_output=True, text=True, timeout=30, check=False)
        try:
            pid = int(res.stdout.strip())
        except ValueError:
            return None
        return pid or None
