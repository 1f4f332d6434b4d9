"""Sample the port counters and the route server's per-session prefix counts at a fixed
interval into the sample store (a background thread).

What to sample comes from the collector's own rendered file (``appliance.monitor.targets``),
not the model: this runs all the time on the 1 GB box (issue 14). After each round it runs
its ``after_round`` hooks (the alert engine, given by the front end that starts it: a
capability does not import another).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from appliance.monitor.counters import PortCounters, read_counters
from appliance.monitor.services import session_counts
from appliance.monitor.store import PairSample, SampleStore, SessionCounts
from appliance.monitor.targets import TargetsFile
from appliance.platform.target import Target
from appliance.util.memory import release_freed

log = logging.getLogger(__name__)


class Collector:
    """Every ``interval`` seconds, read the counters of ``ports()`` (by default the member
    ports of the collector's file) in ``netns`` and the route server's session counts, and
    store them."""

    name = "collector"

    def __init__(self, store: SampleStore, target: Target,
                 ports: Callable[[], set[str]] | None = None, interval: float = 60.0, *,
                 state_dir: Path | None = None,
                 after_round: list[Callable[[], object]] | None = None) -> None:
        # The store lives at <state dir>/monitor/samples.sqlite, so by default the route
        # server (its control socket and the collector's file) is found from there.
        self.state_dir = state_dir if state_dir is not None else store.path.parent.parent
        self.targets = TargetsFile(self.state_dir)
        self.store, self.target, self.interval = store, target, interval
        self.ports = ports if ports is not None else lambda: set(self.targets.get().ports)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.rounds = 0
        self.after_round = list(after_round or [])

    def sample_once(self, now: int | None = None) -> list[PortCounters]:
        """One sampling round: port counters, then the route server's prefix counts."""
        ts = int(now if now is not None else time.time())
        counters = read_counters(self.target, self.ports())
        self.store.add(ts, counters)
        self.store.add_prefix_counts(ts, self.sample_sessions())
        macs = self.targets.get().macs
        if macs:
            self.store.add_matrix(ts, self.sample_matrix(macs))
        self.rounds += 1
        return counters

    def sample_sessions(self) -> list[SessionCounts]:
        """The route server's sessions and their counts now; none when it is not running (the
        graphs then show a gap, not zeros)."""
        return session_counts(self.state_dir, self.targets.get().members)

    def sample_matrix(self, macs: dict[str, int]) -> list[PairSample]:
        """The kernel's traffic matrix by member pair and family (``macs``: MAC → ASN);
        MACs that are no member's, and a member's traffic to itself, are left out."""
        from appliance.bridge.matrix import read_matrix  # only when the matrix is on

        sums: dict[tuple[int, int, str], list[int]] = {}
        for pair in read_matrix(self.target):
            src, dst = macs.get(pair.src), macs.get(pair.dst)
            if src is None or dst is None or src == dst:
                continue
            total = sums.setdefault((src, dst, pair.family), [0, 0])
            total[0] += pair.bytes
            total[1] += pair.packets
        return [PairSample(s, d, f, b, p) for (s, d, f), (b, p) in sorted(sums.items())]

    def _loop(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.sample_once()
            except Exception:  # a bad round must not end the collector
                log.exception("sampling failed")
            for hook in self.after_round:
                try:
                    hook()
                except Exception:  # nor a bad alert round
                    log.exception("after-round %s failed", getattr(hook, "__qualname__", hook))
            # A round's temporaries (with 1000 members the drop counters alone are some 17 MB
            # of parsed nft output) are gone now: hand their pages back, or the process keeps
            # its peak for good (issue 14).
            release_freed()
            self._stop.wait(max(0.0, self.interval - (time.monotonic() - started)))

    def start(self) -> None:
        """Start sampling in the background."""
        self._thread = threading.Thread(target=self._loop, name="collector", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop sampling."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
