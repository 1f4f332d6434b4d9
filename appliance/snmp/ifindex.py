"""Stable ifIndex values: an interface keeps its number across restarts and reboots.

Graphing tools key their history on ifIndex; the kernel's index changes whenever a device is
recreated, so we keep our own name → index map in the state directory. Numbers are never
reused for another name, so an old graph can never silently continue with another port's data.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable
from pathlib import Path

from appliance.util.atomic import atomic_write

log = logging.getLogger(__name__)


class IfIndexMap:
    """Name → ifIndex, persisted as JSON; new names get the next unused number."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._map: dict[str, int] = {}
        if path is not None and path.exists():
            try:
                raw = json.loads(path.read_text(encoding="utf-8"))
                self._map = {str(k): int(v) for k, v in raw.get("ifindex", {}).items()}
            except (ValueError, AttributeError):
                # A damaged file must not stop monitoring; the old numbers are lost, say so.
                log.error("%s is damaged; interface numbers start afresh", path)

    def index_of(self, name: str) -> int:
        """The ifIndex of ``name``, allocating (and saving) a new one if needed."""
        with self._lock:
            idx = self._map.get(name)
            if idx is None:
                idx = max(self._map.values(), default=0) + 1
                self._map[name] = idx
                self._save()
            return idx

    def assign(self, names: Iterable[str]) -> dict[str, int]:
        """Indexes for every name, allocated in the given order, saved once."""
        with self._lock:
            new = False
            for name in names:
                if name not in self._map:
                    self._map[name] = max(self._map.values(), default=0) + 1
                    new = True
            if new:
                self._save()
            return dict(self._map)

    def _save(self) -> None:
        if self.path is None:
            return
        data = json.dumps({"ifindex": self._map}, indent=1, sort_keys=True).encode()
        atomic_write(self.path, data, 0o644)
