"""Slow down password and setup-code guessing: after a few failures, wait.

A ``FailureThrottle`` is a sliding-window counter per key. Its table is bounded: looking a key
up never creates an entry, keys that only hold aged-out attempts are dropped, and when the
table is full the key least recently used goes first. Callers keep keys short (an address, a
digest of a user name), so the table's size in bytes is bounded too.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque

MAX_KEYS = 10_000  # some hundred bytes each: a full table stays around a few megabytes


class FailureThrottle:
    """At most ``limit`` failures per key within ``window`` seconds; then refuse until they age."""

    def __init__(self, limit: int = 5, window: float = 300.0, max_keys: int = MAX_KEYS) -> None:
        self.limit, self.window, self.max_keys = limit, window, max_keys
        # least recently used first, so that a full table drops the stalest key
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """How many keys the table holds."""
        with self._lock:
            return len(self._failures)

    def _live(self, key: str, now: float) -> deque[float] | None:
        # The key's recent attempts, oldest first; None (and no entry) when there are none.
        q = self._failures.get(key)
        if q is None:
            return None
        while q and now - q[0] > self.window:
            q.popleft()
        if not q:
            del self._failures[key]
            return None
        return q

    def _wait(self, keys: tuple[str, ...], now: float) -> int:
        waits = [int(self.window - (now - q[0])) + 1
                 for q in (self._live(k, now) for k in keys) if q is not None and
                 len(q) >= self.limit]
        return max(waits, default=0)

    def _record(self, key: str, now: float) -> None:
        q = self._live(key, now)
        if q is None:
            if len(self._failures) >= self.max_keys:
                self._evict(now)
            q = self._failures[key] = deque()
        else:
            self._failures.move_to_end(key)
        q.append(now)

    def _evict(self, now: float) -> None:
        # Keys are in the order of their last attempt: the front ones are the stalest, so drop
        # those whose attempts have all aged out, and then, if still full, the stalest one.
        while self._failures:
            q = next(iter(self._failures.values()))
            if q and now - q[-1] <= self.window:
                break
            self._failures.popitem(last=False)
        while len(self._failures) >= self.max_keys:
            self._failures.popitem(last=False)

    def retry_after(self, *keys: str) -> int:
        """Seconds to wait before another attempt for any of ``keys`` (0: go ahead)."""
        with self._lock:
            return self._wait(keys, time.monotonic())

    def attempt(self, *keys: str) -> int:
        """Count an attempt for each of ``keys`` before it is checked, in one step: returns 0
        when it may go ahead (and counts it), else the seconds to wait (and counts nothing).

        Counting first is what keeps concurrent guesses from all passing a check made before
        any of them failed. An attempt that turns out right is given back with ``forgive``.
        """
        now = time.monotonic()
        with self._lock:
            wait = self._wait(keys, now)
            if wait:
                return wait
            for k in keys:
                self._record(k, now)
        return 0

    def forgive(self, *keys: str) -> None:
        """Take back one counted attempt of each of ``keys`` (it succeeded, or was never
        checked)."""
        now = time.monotonic()
        with self._lock:
            for k in keys:
                q = self._live(k, now)
                if q is not None:
                    q.pop()
                    if not q:
                        del self._failures[k]

    def failed(self, *keys: str) -> None:
        """Record a failed attempt for each of ``keys``."""
        now = time.monotonic()
        with self._lock:
            for k in keys:
                self._record(k, now)

    def succeeded(self, *keys: str) -> None:
        """Forget the failures of ``keys``."""
        with self._lock:
            for k in keys:
                self._failures.pop(k, None)

    def clear(self) -> None:
        """Forget everything (tests)."""
        with self._lock:
            self._failures.clear()
