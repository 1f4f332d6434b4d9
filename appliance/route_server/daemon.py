"""Start and stop the route server's BIRD: through systemd on the image, spawned elsewhere.

On the image ``ixp-bird.service`` runs ``ixpctl run bird`` (:func:`exec_foreground`), and a
start or stop asked for by the pipeline or the runner goes to systemd
(:mod:`appliance.platform.launcher`). On a developer machine BIRD always runs inside the context's
namespace; the PID is returned so the caller stops exactly the process it started.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

from appliance.platform import shipped
from appliance.platform.bird.control import BirdControl, BirdUnavailable
from appliance.platform.launcher import Launcher
from appliance.platform.target import Target
from appliance.util.atomic import atomic_write

CONF = "bird/bird.conf"


def control_socket(target: Target) -> Path:
    """The route server's control socket for ``target`` (``Target.bird_socket``)."""
    return target.bird_socket
PIDFILE = "bird.pid"
RUNNING_COPY = "bird.conf.running"  # in run_dir: the config BIRD runs, for the health gate

# Popen objects of daemons we started, so that stopping one also reaps it.
_STARTED: dict[int, subprocess.Popen[bytes]] = {}


class BirdStartError(RuntimeError):
    """BIRD did not start; the message carries what it printed."""


def bird_binary() -> str:
    """Path of the ``bird`` program."""
    path = shipped.program("bird")
    if path is None:
        raise BirdStartError("bird is not installed (Debian package bird2)")
    return path


def spawn_bird(conf: Path, ctl: Path, pidfile: Path, *, target: Target,
               log: Path, wait: float = 15) -> int:
    """Run ``bird -f`` on ``conf`` with control socket ``ctl``; return its PID once it answers.

    ``ip netns exec`` replaces itself with BIRD, so the PID is BIRD's own.
    """
    argv = shipped.wrap([bird_binary(), "-f", "-c", str(conf), "-s", str(ctl), "-P",
                         str(pidfile)])
    argv = target.command(argv)
    ctl.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        ctl.unlink()  # a stale socket would make the wait below talk to nobody
    with open(log, "ab") as out:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                start_new_session=True)
    _STARTED[proc.pid] = proc
    try:
        _wait_answering(proc, ctl, log, wait)
    except BaseException:
        stop_bird(proc.pid)
        raise
    return proc.pid


def _wait_answering(proc: subprocess.Popen[bytes], ctl: Path, log: Path, wait: float) -> None:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            raise BirdStartError(f"bird exited with code {proc.returncode}: {tail.strip()}")
        if ctl.exists():
            try:
                with BirdControl(ctl, timeout=2) as bc:
                    bc.status()
                return
            except BirdUnavailable:
                pass
        time.sleep(0.05)
    raise BirdStartError(f"bird did not answer on {ctl} within {wait:g} s")


def _prepare(target: Target) -> Path:
    """Check the installed config, record it as the one BIRD runs; return its path."""
    conf = target.etc_dir / CONF
    if not conf.exists():
        raise BirdStartError(f"{conf} is not installed yet: apply a configuration first")
    target.run_dir.mkdir(parents=True, exist_ok=True)
    # The health gate compares later changes with the config BIRD was started on.
    atomic_write(target.run_dir / RUNNING_COPY, conf.read_bytes(), 0o600)
    return conf


# The unprivileged user BIRD switches to on the image (Debian's bird2 package makes it).
USER = "bird"


def drop_to() -> str | None:
    """The user BIRD should run as here: ``bird`` on the image, if it exists; else None.

    In a lab BIRD stays root inside its namespace: test state dirs live under paths the
    ``bird`` user cannot enter.
    """
    import pwd

    from appliance.platform.target import IMAGE_MARKER
    if not IMAGE_MARKER.exists():
        return None
    try:
        pwd.getpwnam(USER)
    except KeyError:
        return None
    return USER


def own_files_for(target: Target, user: str) -> None:
    """What BIRD touches after it dropped root: its config readable, its PID file writable.

    BIRD writes the PID file only after the switch, in a directory that stays root's, so the
    file is made for it beforehand. A config installed by an older release may still have
    root's group.
    """
    import pwd

    from appliance.pipeline.staging import set_group
    set_group(target.etc_dir / CONF, user)
    entry = pwd.getpwnam(user)
    pidfile = target.run_dir / PIDFILE
    pidfile.touch(mode=0o644)
    os.chown(pidfile, entry.pw_uid, entry.pw_gid)


def foreground_argv(target: Target, user: str | None = None) -> list[str]:
    """``bird -f`` on the installed config and the state dir's control socket and PID file.

    With ``user``, BIRD creates its socket and PID file as root, then becomes ``user``
    (keeping only its network capabilities) before it reads the configuration.
    """
    argv = [bird_binary(), "-f", "-c", str(target.etc_dir / CONF), "-s",
            str(control_socket(target)), "-P", str(target.run_dir / PIDFILE)]
    return [*argv, "-u", user, "-g", user] if user else argv


def exec_foreground(target: Target) -> None:
    """Become BIRD in the foreground (``ixpctl run bird``, i.e. ``ixp-bird.service``).

    Replaces this process, so systemd supervises BIRD itself (its PID is the unit's main PID).
    """
    _prepare(target)
    with contextlib.suppress(FileNotFoundError):
        (control_socket(target)).unlink()  # stale from the last boot (the data partition keeps it)
    user = drop_to()
    if user:
        own_files_for(target, user)
    argv = foreground_argv(target, user)
    argv = target.command(argv)
    os.execvp(argv[0], argv)


def _wait_supervised(ctl: Path, wait: float) -> None:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            with BirdControl(ctl, timeout=2) as bc:
                bc.status()
            return
        except (BirdUnavailable, OSError):
            time.sleep(0.1)
    raise BirdStartError(f"ixp-bird.service started but BIRD did not answer on {ctl} within "
                         f"{wait:g} s (journalctl -u ixp-bird)")


def start_bird(target: Target, *, wait: float = 15) -> int | None:
    """Start the route server's BIRD on the installed config, in ``target.netns``.

    Returns the PID of the BIRD this call spawned, or None when systemd started it (on the
    image: systemd supervises it, so it is not the caller's to stop). Refuses to run in the
    host's namespace on a developer machine.
    """
    target.require_system()
    launcher = Launcher(target)
    if launcher.systemd:
        if not (target.etc_dir / CONF).exists():
            raise BirdStartError(f"{target.etc_dir / CONF} is not installed yet: apply a "
                                 "configuration first")
        launcher.start("bird", lambda: None)
        if not launcher.deferred:
            _wait_supervised(control_socket(target), wait)
        return None
    running = _pid_from_file(target.run_dir / PIDFILE)
    if running is not None and _is_bird(running):
        raise BirdStartError(f"BIRD is already running for this state directory (PID {running})")
    conf = _prepare(target)
    return spawn_bird(conf, control_socket(target), target.run_dir / PIDFILE,
                      target=target, log=target.run_dir / "bird.log", wait=wait)


def stop_bird(pid: int, *, timeout: float = 10) -> None:
    """Stop the BIRD with ``pid`` (one we started): SIGTERM, then SIGKILL after ``timeout``."""
    proc = _STARTED.pop(pid, None)
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        if proc is not None:
            proc.wait()
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return
        if proc is None and not Path(f"/proc/{pid}").exists():
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    if proc is not None:
        proc.wait()


def stop(target: Target, *, timeout: float = 10) -> bool:
    """Stop the route server's BIRD (on the image: its unit); False if none ran."""
    def kill() -> bool:
        pid = _pid_from_file(target.run_dir / PIDFILE)
        if pid is None or not _is_bird(pid):
            return False
        stop_bird(pid, timeout=timeout)
        return True
    return Launcher(target).stop("bird", kill)


def running_pid(target: Target) -> int | None:
    """The PID of the state dir's BIRD if one runs (from its PID file), else None."""
    pid = _pid_from_file(target.run_dir / PIDFILE)
    return pid if pid is not None and _is_bird(pid) else None


def _pid_from_file(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return None


def _is_bird(pid: int) -> bool:
    # A stale PID file may name an unrelated process by now; only ever signal a bird.
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() == "bird"
    except OSError:
        return False
