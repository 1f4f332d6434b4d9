"""Slow down password and setup-code guessing: after a few failures, wait."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque


class FailureThrottle:
    """At most ``limit`` failures per key within ``window`` seconds; then refuse until they age."""

    def __init__(self, limit: int = 5, window: float = 300.0) -> None:
        self.limit, self.window = limit, window
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _prune(self, key: str, now: float) -> deque[float]:
        q = self._failures[key]
        while q and now - q[0] > self.window:
            q.popleft()
        return q

    def retry_after(self, *keys: str) -> int:
        """Seconds to wait before another attempt for any of ``keys`` (0: go ahead)."""
        now = time.monotonic()
        with self._lock:
            waits = [int(self.window - (now - q[0])) + 1
                     for q in (self._prune(k, now) for k in keys) if len(q) >= self.limit]
        return max(waits, default=0)

    def failed(self, *keys: str) -> None:
        """Record a failed attempt for each of ``keys``."""
        now = time.monotonic()
        with self._lock:
            for k in keys:
                self._prune(k, now).append(now)

    def succeeded(self, *keys: str) -> None:
        """Forget the failures of ``keys``."""
        with self._lock:
            for k in keys:
                self._failures.pop(k, None)
