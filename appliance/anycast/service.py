"""The anycast helper: health checks that switch the BIRD announcement, and its life cycle.

It follows the committed configuration by itself (a new revision starts, changes or stops
checkers), flips each prefix's gate interface from the checker's decision, and publishes the
state to ``<state_dir>/run/anycast/status.json`` for the web UI, /metrics and the SNMP agent,
which may run in other processes (systemd units on the image). It reads only the file the
anycast concern renders for it (``etc/anycast/checkers.json``), never the whole model
(issue 14: 1 GB box).

``ixpctl run anycast`` runs the helper (:class:`AnycastHelper`): ``ixp-anycast.service`` on the
image; in a lab the anycast concern's apply spawns it in the lab's namespace (the lifecycle
rule in docs/design/architecture.md), and the dev runner's :class:`AnycastService` starts it
again should it die.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from pathlib import Path

from appliance.anycast.health import Action, CheckerSet
from appliance.anycast.links import set_gate
from appliance.anycast.render import CHECKERS_FILE, load_checkers
from appliance.anycast.status import STATUS_FILE, write_status
from appliance.config.revisions import RevisionStore
from appliance.platform.launcher import (
    Supervisor,
    end_pid,
    ixpctl_argv,
    spawn_and_wait,
    spawns_here,
)
from appliance.platform.target import Target

log = logging.getLogger(__name__)
# Under run/, beside its published state: the helper spawned off the image (systemd's has none).
PID_FILE = "anycast/helper.pid"
LOG_FILE = "anycast/helper.log"


class AnycastHelper:
    """Runs the checkers of the committed configuration until stopped (``ixpctl run
    anycast``; a test may run it in its own process)."""

    name = "anycast"

    def __init__(self, target: Target, *, poll: float = 2.0) -> None:
        self.target = target
        self.state_dir = Path(target.state_dir)
        self.poll = poll
        self.checkers = CheckerSet(self._announce, target, after_step=self.publish)
        self._revision: int | None = None  # the newest revision whose checks run
        self._unreadable: int | None = None  # the revision whose file was said unreadable
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._publish_lock = threading.Lock()

    def _announce(self, action: Action, prefixes: tuple[str, ...]) -> None:
        for prefix in prefixes:
            set_gate(self.target, prefix, action == "announce")

    def sync(self) -> None:
        """Follow the committed configuration and publish the state (one loop turn)."""
        # A revision is committed after its files are installed: a new number means a new
        # checkers file (or the same one) is in place. Listing the numbers is cheap.
        ids = RevisionStore(self.state_dir).ids()
        latest = ids[-1] if ids else None
        if latest is not None and latest != self._revision:
            path = self.state_dir / "etc" / CHECKERS_FILE
            try:
                specs = load_checkers(path)
            except (OSError, ValueError) as exc:
                # applied before the file existed: the boot's re-apply renders it; retried
                # every turn, said once
                if self._unreadable != latest:
                    log.error("anycast helper: cannot read %s: %s", path, exc)
                    self._unreadable = latest
            else:
                self.checkers.update(specs)
                # a new revision may have re-created a gate (down): send every decision again
                self.checkers.resync()
                self._revision = latest
        self.publish()

    def publish(self) -> None:
        """Write the state for the UI, /metrics and SNMP (after every check, and each turn)."""
        with self._publish_lock:
            write_status(self.state_dir, self.checkers.statuses())

    def run(self) -> None:
        """Loop until :meth:`stop`."""
        while not self._stop.is_set():
            try:
                self.sync()
            except Exception:  # the helper must outlive a bad turn
                log.exception("anycast helper: sync failed")
            self._stop.wait(self.poll)

    def start(self) -> None:
        """Run in a background thread."""
        self._stop.clear()
        self.sync()
        self._thread = threading.Thread(target=self.run, name="anycast", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop checking and withdraw: nobody vouches for the service any more."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        for hc in self.checkers.checkers():
            for prefix in hc.prefixes:
                try:
                    set_gate(self.target, prefix, False)
                except Exception as exc:  # gone already (lab down, revision removed it)
                    log.info("anycast helper: could not withdraw %s: %s", prefix, exc)
        self.checkers.stop()
        with self._publish_lock:
            write_status(self.state_dir, [], running=False)


def wanted(target: Target) -> bool:
    """Whether the installed checkers file holds a check (an anycast prefix to vouch for)."""
    try:
        return bool(load_checkers(target.etc_dir / CHECKERS_FILE))
    except (OSError, ValueError):
        return False


def running_pid(target: Target) -> int | None:
    """The PID of the helper spawned for ``target``, if it still runs."""
    try:
        pid = int((target.run_dir / PID_FILE).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if _is_helper(pid, target) else None


def _is_helper(pid: int, target: Target) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    # a stale PID file may name an unrelated process by now: only ever signal our helper
    return b"anycast" in cmdline and str(target.state_dir).encode() in cmdline


def _published_by(target: Target, pid: int) -> bool:
    with contextlib.suppress(OSError, ValueError):
        doc = json.loads((target.state_dir / STATUS_FILE).read_text())
        return doc.get("pid") == pid and bool(doc.get("running"))
    return False


def start(target: Target) -> int:
    """Spawn ``ixpctl run anycast`` in ``target``'s namespace (off the image) and wait until
    it published its first state; its PID. Raises ``SpawnError`` if it does not come up."""
    argv = target.command(ixpctl_argv(
        "run", "anycast", "--state-dir", str(target.state_dir),
        *(["--netns", target.netns] if target.netns else [])))
    # ip netns exec execs the helper: the PID recorded is its own
    return spawn_and_wait(argv, target.run_dir / LOG_FILE, lambda pid: _published_by(target, pid),
                          what="anycast helper", pid_file=target.run_dir / PID_FILE)


def stop(target: Target) -> bool:
    """Stop the helper spawned for ``target`` (SIGTERM: it withdraws every prefix first);
    True if one ran."""
    pid = running_pid(target)
    if pid is not None:
        end_pid(pid, lambda: _is_helper(pid, target))
    (target.run_dir / PID_FILE).unlink(missing_ok=True)
    return pid is not None


def ensure_running(target: Target) -> int | None:
    """Start the helper where its apply would (``spawns_here``), the installed file has a
    check and none runs; its PID if started (the dev runner's supervision of one that died)."""
    if not spawns_here(target) or not wanted(target) or running_pid(target) is not None:
        return None
    return start(target)


class AnycastService(Supervisor):
    """The dev runner's supervision of the helper (``Supervisor``)."""

    name, what = "anycast", "anycast helper"

    def ensure(self) -> int | None:
        """Start the helper if it should run and does not."""
        return ensure_running(self.target)
