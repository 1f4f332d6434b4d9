"""Start, reload, stop and check one unbound, by PID, inside the appliance's namespace.

unbound runs in the foreground (``-d``) as a child we started in its own session, so it
outlives the CLI or web request that started it; we find it again through the PID we recorded
and confirm it by its command line (a PID can be reused by an unrelated process).

On the image ``ixp-unbound.service`` runs it instead (``ixpctl run unbound``, i.e.
:func:`exec_foreground`), and start and stop go through systemd
(:mod:`appliance.platform.launcher`); reloads stay with ``unbound-control`` everywhere.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from appliance.platform import shipped
from appliance.platform.target import Target
from appliance.resolver.paths import TRUST_ANCHOR_FILE, UnboundPaths
from appliance.util.atomic import atomic_write

# The renderer (jinja2 and the model) only for its options' type: ``ixpctl run unbound``
# writes the launch file and execs, and those imports were most of its 36 MiB (issue 14).
# The launcher (which brings the model through appliance.pipeline.concern) where it starts
# or stops unbound: the SNMP agent reads the resolver's status through this module.
if TYPE_CHECKING:
    from appliance.resolver.render import RenderOptions

# Debian's dns-root-data: the root KSKs, updated with the package.
SYSTEM_ROOT_KEY = Path("/usr/share/dns/root.key")
# On the image unbound drops root to this user (Debian's unbound package creates it).
IMAGE_USER = "unbound"


class UnboundError(RuntimeError):
    """unbound refused its configuration, did not start, or cannot be controlled."""


def binary(name: str) -> str:
    """Path of ``unbound``, ``unbound-checkconf`` or ``unbound-control``."""
    path = shipped.program(name)
    if path is None:
        raise UnboundError(f"{name} is not installed: install the Debian package unbound")
    return path


def image_user(paths: UnboundPaths) -> str | None:
    """The user unbound runs as: ``unbound`` for the image's own instance, else None (root).

    Only where systemd runs it: the lab and the tests use temporary directories that user
    cannot enter.
    """
    from appliance.platform.launcher import systemd_manages

    if not systemd_manages(paths.state_dir, None):
        return None
    try:
        pwd.getpwnam(IMAGE_USER)
    except KeyError:
        return None
    return IMAGE_USER


def launch_text(paths: UnboundPaths, conf: Path | None = None) -> str:
    """The launch file for ``paths`` (``conf`` overrides the included file, for checks).

    The bytes of ``appliance.resolver.render.render_launch`` (a test compares them), made without
    jinja2: only absolute paths of this instance go in, and the wrapper must stay small.
    """
    text = (f"# Written by the appliance when it starts unbound; the absolute paths of this "
            f"instance.\nserver:\n    directory: \"{paths.data_dir}\"\n"
            f"    pidfile: \"{paths.pidfile}\"\n\nremote-control:\n    control-enable: yes\n"
            f"    control-interface: \"{paths.control_socket}\"\n\n"
            f"include: \"{conf or paths.conf}\"\n")
    user = image_user(paths)
    if user:
        text += ("\n# After the include, so it wins over the rendered file's username \"\": "
                 "on the image unbound\n# binds its ports as root, then runs as this user.\n"
                 f"server:\n    username: \"{user}\"\n")
    return text


def _give_working_dir(paths: UnboundPaths, user: str) -> None:
    # unbound rewrites the trust anchor (RFC 5011) and the root zone copy there as that user.
    pw = pwd.getpwnam(user)
    for entry in (paths.data_dir, *paths.data_dir.iterdir()):
        if not entry.is_symlink():
            os.chown(entry, pw.pw_uid, pw.pw_gid)


def prepare(paths: UnboundPaths, options: RenderOptions | None, *,
            root_key: Path = SYSTEM_ROOT_KEY) -> None:
    """Create the directories, the launch file, and (once) the trust anchor and root seed.

    Both files are copied only when missing: afterwards unbound itself keeps them current
    (RFC 5011 rollovers, zone transfers), and overwriting them would undo that. ``options``
    None are the defaults (the image's): no seed, the root key as trust anchor.
    """
    paths.data_dir.mkdir(parents=True, exist_ok=True)
    paths.run_dir.mkdir(parents=True, exist_ok=True)
    text = launch_text(paths).encode()
    current = paths.launch_conf.read_bytes() if paths.launch_conf.exists() else None
    if current != text:
        atomic_write(paths.launch_conf, text, 0o644)
    trust_anchor = options.trust_anchor if options is not None else TRUST_ANCHOR_FILE
    seed = options.root_zone.seed if options is not None else None
    zonefile = paths.data_dir / (options.root_zone.zonefile if options is not None else "")
    if seed and not zonefile.exists():
        try:
            atomic_write(zonefile, Path(seed).read_bytes(), 0o644)
        except OSError as exc:
            raise UnboundError(f"cannot copy the root zone seed {seed}: {exc}") from None
    if trust_anchor:
        anchor = paths.data_dir / trust_anchor
        if not anchor.exists():
            if not root_key.exists():
                raise UnboundError(f"{root_key} is missing: install the Debian package "
                                   "dns-root-data (the DNSSEC root key)")
            atomic_write(anchor, root_key.read_bytes(), 0o644)
    user = image_user(paths)
    if user is not None:
        _give_working_dir(paths, user)


def checkconf(launch: Path, cwd: Path) -> None:
    """``unbound-checkconf`` on a launch file; raises ``UnboundError`` with its words.

    ``cwd`` is the instance's working directory: the checker opens relative zone files from
    there, as unbound does after changing into it.
    """
    try:
        res = subprocess.run(shipped.wrap([binary("unbound-checkconf"), str(launch)]),
                             capture_output=True, text=True, timeout=60, check=False, cwd=cwd)
    except subprocess.TimeoutExpired:
        raise UnboundError("unbound-checkconf did not finish in 60 s") from None
    if res.returncode != 0:
        raise UnboundError((res.stderr or res.stdout).strip() or "unbound-checkconf failed")


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _is_ours(pid: int, paths: UnboundPaths) -> bool:
    cmd = _cmdline(pid)
    return "unbound" in cmd and str(paths.launch_conf) in cmd


def running_pid(paths: UnboundPaths) -> int | None:
    """The PID of our unbound for ``paths`` if it is alive, else None."""
    try:
        pid = int(paths.started_pid.read_text().strip())
    except (OSError, ValueError):
        return None
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)  # reap it if it was our child and has exited
    return pid if _is_ours(pid, paths) else None


def control(paths: UnboundPaths, *args: str, timeout: float = 10) -> str:
    """Run ``unbound-control`` over the unix socket; returns its output or raises."""
    try:
        res = subprocess.run(shipped.wrap([binary("unbound-control"), "-c", str(paths.launch_conf),
                                           *args]),
                             capture_output=True, text=True, timeout=timeout, check=False,
                             # unbound 1.26 prints a stray byte after an expired zone's state
                             errors="replace")
    except subprocess.TimeoutExpired:
        raise UnboundError(f"unbound-control {' '.join(args)} timed out") from None
    if res.returncode != 0:
        raise UnboundError(f"unbound-control {' '.join(args)} failed: "
                           f"{(res.stderr or res.stdout).strip()}")
    return res.stdout


def _log_tail(paths: UnboundPaths, lines: int = 8) -> str:
    try:
        return "\n".join(paths.log_file.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def foreground_argv(paths: UnboundPaths, target: Target) -> list[str]:
    """``unbound -d`` on the launch file, in ``target``'s namespace."""
    return target.command(shipped.wrap([binary("unbound"), "-d", "-c",
                                        str(paths.launch_conf)]))


def exec_foreground(paths: UnboundPaths, options: RenderOptions | None,
                    target: Target) -> None:
    """Become unbound in the foreground (``ixpctl run unbound``, i.e. ``ixp-unbound.service``).

    Writes the launch file first and records this PID, which exec keeps: unbound's own.
    ``options`` None: the defaults (see :func:`prepare`).
    """
    if not paths.conf.exists():
        raise UnboundError(f"{paths.conf} is not installed: enable the resolver and apply")
    prepare(paths, options)
    if image_user(paths) is not None:
        # unbound, no longer root when it exits, cannot remove its socket from this root-owned
        # directory, and refuses to start on a leftover one.
        paths.control_socket.unlink(missing_ok=True)
    atomic_write(paths.started_pid, f"{os.getpid()}\n".encode(), 0o644)
    os.chdir(paths.data_dir)  # relative zone files, as unbound itself expects
    argv = foreground_argv(paths, target)
    os.execvp(argv[0], argv)


def _wait_ready(paths: UnboundPaths, alive: Callable[[], bool], ready_timeout: float) -> None:
    deadline = time.monotonic() + ready_timeout
    while time.monotonic() < deadline:
        if not alive():
            raise UnboundError(f"unbound exited at start: {_log_tail(paths)}")
        try:
            control(paths, "status", timeout=5)
            return
        except UnboundError:
            time.sleep(0.1)
    raise UnboundError(f"unbound did not become ready in {ready_timeout:.0f} s: "
                       f"{_log_tail(paths)}")


def start(paths: UnboundPaths, target: Target, *, ready_timeout: float = 20) -> int | None:
    """Start unbound in ``target``'s namespace and wait until it answers control.

    Returns the PID of the unbound this call spawned (``ip netns exec`` executes unbound in
    place, so the PID is unbound's), or None when systemd started it (on the image).
    """
    from appliance.platform.launcher import Launcher

    launcher = Launcher(Target(paths.state_dir, target.netns))
    if launcher.systemd:
        launcher.start("unbound", lambda: None)
        if not launcher.deferred:
            _wait_ready(paths, lambda: launcher.active("unbound"), ready_timeout)
        return None
    return _spawn(paths, target, ready_timeout)


def _spawn(paths: UnboundPaths, target: Target, ready_timeout: float) -> int:
    argv = foreground_argv(paths, target)
    if running_pid(paths) is None:
        # An unbound that was killed (a lab torn down, kill -9) leaves its control socket, and
        # the next one refuses to start on it ("Address already in use").
        paths.control_socket.unlink(missing_ok=True)
    with open(paths.log_file, "ab") as log:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, cwd=paths.data_dir,
                                start_new_session=True)  # outlives the CLI; stopped by PID
    atomic_write(paths.started_pid, f"{proc.pid}\n".encode(), 0o644)
    deadline = time.monotonic() + ready_timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise UnboundError(f"unbound exited at start (code {proc.returncode}): "
                               f"{_log_tail(paths)}")
        try:
            control(paths, "status", timeout=5)
            return proc.pid
        except UnboundError:
            time.sleep(0.1)
    _kill(paths, 5.0)
    raise UnboundError(f"unbound did not become ready in {ready_timeout:.0f} s: "
                       f"{_log_tail(paths)}")


def reload(paths: UnboundPaths) -> None:
    """Re-read the configuration (and the root zone file) without a restart."""
    control(paths, "reload")


def stop(paths: UnboundPaths, target: Target, timeout: float = 5.0) -> bool:
    """Stop our unbound for ``paths`` (on the image: its unit); True if one was running."""
    from appliance.platform.launcher import Launcher

    return Launcher(Target(paths.state_dir, target.netns)).stop(
        "unbound", lambda: _kill(paths, timeout))


def _kill(paths: UnboundPaths, timeout: float) -> bool:
    pid = running_pid(paths)
    if pid is None:
        paths.started_pid.unlink(missing_ok=True)
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _is_ours(pid, paths):
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.05)
    if _is_ours(pid, paths):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, 0)
    else:
        # it exited during the last sleep: a zombie child (no cmdline, so no longer "ours")
        # until reaped, still listed by pgrep
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)
    paths.started_pid.unlink(missing_ok=True)
    return True
