"""Sample the port counters at a fixed interval into the sample store (a background thread)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from appliance.monitor.counters import PortCounters, read_counters
from appliance.monitor.store import SampleStore

log = logging.getLogger(__name__)


class Collector:
    """Every ``interval`` seconds, read the counters of ``ports()`` in ``netns`` and store them."""

    name = "collector"

    def __init__(self, store: SampleStore, netns: str | None, ports: Callable[[], set[str]],
                 interval: float = 60.0) -> None:
        self.store, self.netns, self.ports, self.interval = store, netns, ports, interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.rounds = 0

    def sample_once(self, now: int | None = None) -> list[PortCounters]:
        """One sampling round."""
        counters = read_counters(self.netns, self.ports())
        self.store.add(int(now if now is not None else time.time()), counters)
        self.rounds += 1
        return counters

    def _loop(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.sample_once()
            except Exception:  # a bad round must not end the collector
                log.exception("sampling failed")
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
