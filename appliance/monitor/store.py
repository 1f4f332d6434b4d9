"""Counter samples over time in SQLite, bounded: fine samples for 2 days, coarse for 60.

Counters are stored as read (not rates); a rate is the difference of two samples, so a coarse
series (one sample per 5 minutes) gives exact 5-minute averages. A counter that went down was
reset (interface recreated) and that interval is left out rather than shown as a spike.
"""

from __future__ import annotations

import itertools
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from appliance.monitor.counters import PortCounters

FINE_KEEP = 2 * 86400
COARSE_STEP = 300
COARSE_KEEP = 60 * 86400
TOTAL = "_total"  # the sum over every member port

_SCHEMA = """
CREATE TABLE IF NOT EXISTS {t} (
  ts INTEGER NOT NULL, port TEXT NOT NULL,
  rx_bytes INTEGER, tx_bytes INTEGER, rx_packets INTEGER, tx_packets INTEGER,
  PRIMARY KEY (port, ts)) WITHOUT ROWID;
"""


@dataclass(frozen=True)
class Rate:
    """Average rates between two samples (per second), stamped with the later one."""

    ts: int
    rx_bps: float
    tx_bps: float
    rx_pps: float
    tx_pps: float


class SampleStore:
    """Samples of port counters; one writer (the collector), any number of readers."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            for table in ("fine", "coarse"):
                db.execute(_SCHEMA.format(t=table))

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10)

    def add(self, ts: int, counters: Iterable[PortCounters]) -> None:
        """Record one sampling round (and its total), prune what is too old."""
        rows = [(ts, c.name, c.rx_bytes, c.tx_bytes, c.rx_packets, c.tx_packets)
                for c in counters]
        if rows:
            rows.append((ts, TOTAL, *(sum(r[i] for r in rows) for i in range(2, 6))))
        with self._lock, self._connect() as db:
            db.executemany("INSERT OR REPLACE INTO fine VALUES (?,?,?,?,?,?)", rows)
            bucket = ts - ts % COARSE_STEP
            last = db.execute("SELECT MAX(ts) FROM coarse").fetchone()[0]
            if last is None or last < bucket:
                db.executemany("INSERT OR REPLACE INTO coarse VALUES (?,?,?,?,?,?)", rows)
            db.execute("DELETE FROM fine WHERE ts < ?", (ts - FINE_KEEP,))
            db.execute("DELETE FROM coarse WHERE ts < ?", (ts - COARSE_KEEP,))

    def ports(self) -> list[str]:
        """Ports with samples."""
        with self._connect() as db:
            return [r[0] for r in db.execute("SELECT DISTINCT port FROM fine ORDER BY port")]

    def rates(self, port: str, since: int, until: int | None = None) -> list[Rate]:
        """Rates of ``port`` between ``since`` and ``until``, from the finest table that covers
        the span (fine up to 2 days, coarse beyond)."""
        with self._connect() as db:
            if until is None:
                until = db.execute("SELECT MAX(ts) FROM fine WHERE port = ?",
                                   (port,)).fetchone()[0] or since
            table = "fine" if until - since <= FINE_KEEP else "coarse"
            query = (f"SELECT ts, rx_bytes, tx_bytes, rx_packets, tx_packets FROM {table} "
                     "WHERE port = ? AND ts >= ? AND ts <= ? ORDER BY ts")
            rows = db.execute(query, (port, since, until)).fetchall()
        out: list[Rate] = []
        for prev, cur in itertools.pairwise(rows):
            dt = cur[0] - prev[0]
            deltas = [cur[i] - prev[i] for i in range(1, 5)]
            if dt <= 0 or any(d < 0 for d in deltas):
                continue  # a reset, not traffic
            out.append(Rate(cur[0], deltas[0] * 8 / dt, deltas[1] * 8 / dt, deltas[2] / dt,
                            deltas[3] / dt))
        return out

    def latest_rate(self, port: str) -> Rate | None:
        """The rate over the last two samples ("traffic now")."""
        with self._connect() as db:
            ts = db.execute("SELECT ts FROM fine WHERE port = ? ORDER BY ts DESC LIMIT 1 "
                            "OFFSET 1", (port,)).fetchone()
        if ts is None:
            return None
        rates = self.rates(port, ts[0])
        return rates[-1] if rates else None

    def row_counts(self) -> dict[str, int]:
        """How many samples each table holds (for the bound tests and the benchmark)."""
        with self._connect() as db:
            return {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                    for t in ("fine", "coarse")}
