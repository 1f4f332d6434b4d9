"""The anycast helper as a service: health checks that switch the BIRD announcement.

It follows the committed configuration by itself (a new revision starts, changes or stops
checkers), flips each prefix's gate interface from the checker's decision, and publishes the
state to ``<state_dir>/run/anycast/status.json`` for the web UI, /metrics and the SNMP agent,
which may run in other processes (systemd units on the image). It reads only the file the
anycast concern renders for it (``etc/anycast/checkers.json``), never the whole model
(issue 14: 1 GB box).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from appliance.anycast.health import Action, CheckerSet
from appliance.anycast.links import set_gate
from appliance.anycast.render import CHECKERS_FILE, load_checkers
from appliance.anycast.status import write_status
from appliance.config.revisions import RevisionStore
from appliance.platform.target import Target

log = logging.getLogger(__name__)



class AnycastService:
    """Runs the checkers of the committed configuration until stopped."""

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


