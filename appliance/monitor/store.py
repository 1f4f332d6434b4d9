"""Counter samples over time in SQLite, bounded: fine samples for 2 days, coarse for 60.

Counters are stored as read (not rates); a rate is the difference of two samples, so a coarse
series (one sample per 5 minutes) gives exact 5-minute averages. A counter that went down was
reset (interface recreated) and that interval is left out rather than shown as a spike.

Route counts of the route server's sessions (prefixes received, accepted, filtered, exported)
are kept beside them with the same retention. They are levels, not counters, and rarely
change, so a row is written only when a count changed or, as a heartbeat, when the session's
last row is PREFIX_HEARTBEAT (fine) or PREFIX_COARSE_HEARTBEAT (coarse) old: a quiet
session costs a row per 5 minutes instead of one per sampling round. A series is read as
steps; where rows are further apart than twice the heartbeat the collector was not
sampling, and the series is cut there instead of claiming the count held.

The traffic matrix (what each member sent to each other member, per family) is kept per
ordered member pair in two tiers of its own: a row per pair per 5 minutes for 2 days, and a
row per hour for 60 days (rows = pairs seen × (576 + 1440) at most). Each round also writes
the time it sampled (``matrix_rounds``): a pair missing from a round the collector made had
no counter then (its set element appears with the first frame, or the set was re-created),
so it counts as 0 and a counter that went down is a reset, left out of the rates.
"""

from __future__ import annotations

import itertools
import os
import sqlite3
import threading
import time
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


PREFIX_HEARTBEAT = 300
PREFIX_COARSE_HEARTBEAT = 3600

_PREFIX_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
  session TEXT PRIMARY KEY, asn INTEGER, family TEXT NOT NULL, neighbor TEXT NOT NULL,
  member TEXT NOT NULL, last_seen INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sessions_asn ON sessions (asn);
CREATE TABLE IF NOT EXISTS prefixes_fine (
  ts INTEGER NOT NULL, session TEXT NOT NULL,
  received INTEGER, accepted INTEGER, filtered INTEGER, exported INTEGER,
  PRIMARY KEY (session, ts)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS prefixes_coarse (
  ts INTEGER NOT NULL, session TEXT NOT NULL,
  received INTEGER, accepted INTEGER, filtered INTEGER, exported INTEGER,
  PRIMARY KEY (session, ts)) WITHOUT ROWID;
"""


MATRIX_TIERS = {"matrix_fine": (COARSE_STEP, FINE_KEEP), "matrix_coarse": (3600, COARSE_KEEP)}
MATRIX_PERIODS = {"hour": 3600, "day": 86400, "month": 30 * 86400}

_MATRIX_SCHEMA = """
CREATE TABLE IF NOT EXISTS {t} (
  ts INTEGER NOT NULL, src INTEGER NOT NULL, dst INTEGER NOT NULL, family TEXT NOT NULL,
  bytes INTEGER NOT NULL, packets INTEGER NOT NULL,
  PRIMARY KEY (src, dst, family, ts)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS {t}_rounds (ts INTEGER PRIMARY KEY);
"""


@dataclass(frozen=True)
class PairSample:
    """What member ``src`` had sent to member ``dst`` in one family when sampled."""

    src: int
    dst: int
    family: str
    bytes: int
    packets: int


@dataclass(frozen=True)
class PairRate:
    """Average rates of one ordered pair and family over a period (per second)."""

    src: int
    dst: int
    family: str
    bps: float
    pps: float
    bytes: int  # what was counted over the intervals that went into the rate


def counter_deltas(rounds: list[int], values: dict[int, tuple[int, int]]
                   ) -> list[tuple[int, int, int, int]]:
    """The intervals between consecutive ``rounds`` as (end ts, seconds, bytes, packets):
    ``values`` maps a round's time to the (bytes, packets) counted then; a round without a
    value counts 0 (no element yet, or a re-created set). An interval where a counter went
    down is a reset and left out (no negative rate, no spike)."""
    out = []
    for prev, cur in itertools.pairwise(rounds):
        a, b = values.get(prev, (0, 0)), values.get(cur, (0, 0))
        db, dp = b[0] - a[0], b[1] - a[1]
        if cur <= prev or db < 0 or dp < 0:
            continue
        out.append((cur, cur - prev, db, dp))
    return out


def period_rate(rounds: list[int], values: dict[int, tuple[int, int]]
                ) -> tuple[float, float, int] | None:
    """The average (bits/s, packets/s, bytes) over the intervals ``counter_deltas`` keeps;
    None when there is not one interval."""
    deltas = counter_deltas(rounds, values)
    seconds = sum(d[1] for d in deltas)
    if not seconds:
        return None
    total = sum(d[2] for d in deltas)
    return total * 8 / seconds, sum(d[3] for d in deltas) / seconds, total


def samples_path(state_dir: Path) -> Path:
    """Where the collector keeps its samples (the web UI reads them from there)."""
    return state_dir / "monitor" / "samples.sqlite"


@dataclass(frozen=True)
class SessionCounts:
    """The route counts of one route-server session (one member address and family)."""

    session: str  # BIRD's protocol name: stable for a member address
    asn: int | None  # None when the neighbor is not (any more) in the configuration
    family: str  # "ipv4" or "ipv6"
    neighbor: str
    member: str
    received: int  # accepted + filtered: everything the member sent
    accepted: int
    filtered: int
    exported: int  # what the route server sent to the member

    def values(self) -> tuple[int, int, int, int]:
        """The four counts, in the store's column order."""
        return (self.received, self.accepted, self.filtered, self.exported)


@dataclass(frozen=True)
class PrefixPoint:
    """A session's counts from ``ts`` on (until the next point of the series)."""

    ts: int
    received: int
    accepted: int
    filtered: int
    exported: int


@dataclass(frozen=True)
class SessionInfo:
    """A session the store has counts for."""

    session: str
    asn: int | None
    family: str
    neighbor: str
    member: str
    last_seen: int


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
        self.path = path
        self._lock = threading.Lock()
        # The web UI (ixp-web) reads the collector's (ixp-collector's) database: it may not
        # write it, not even the schema statements below, which then fail (issue 16).
        self.read_only = path.exists() and not os.access(path, os.W_OK)
        self._last_rows: dict[str, dict[str, tuple[int, tuple[int, ...]]]] | None = None
        if self.read_only:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            # A rollback journal, not WAL: a WAL reader must write the -shm file, and the web
            # UI reads this database as a user that may not write it.
            db.execute("PRAGMA journal_mode=DELETE")
            for table in ("fine", "coarse"):
                db.execute(_SCHEMA.format(t=table))
            db.executescript(_PREFIX_SCHEMA)
            for table in MATRIX_TIERS:
                db.executescript(_MATRIX_SCHEMA.format(t=table))
        # (_last_rows: the last row written per session and table, loaded on first use)

    def _connect(self) -> sqlite3.Connection:
        if self.read_only:
            return sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=10)
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

    def _load_last_rows(self, db: sqlite3.Connection) -> dict[str, dict[str, tuple[int, tuple[
            int, ...]]]]:
        out: dict[str, dict[str, tuple[int, tuple[int, ...]]]] = {}
        for table in ("prefixes_fine", "prefixes_coarse"):
            rows = db.execute(
                f"SELECT p.session, p.ts, p.received, p.accepted, p.filtered, p.exported "
                f"FROM {table} p JOIN (SELECT session, MAX(ts) AS m FROM {table} "
                "GROUP BY session) l ON p.session = l.session AND p.ts = l.m")
            out[table] = {r[0]: (r[1], tuple(r[2:])) for r in rows}
        return out

    def add_prefix_counts(self, ts: int, counts: Iterable[SessionCounts]) -> int:
        """Record one round of session counts (only what changed, plus heartbeats), prune
        what is too old; returns how many rows were written."""
        counts = list(counts)
        written = 0
        with self._lock, self._connect() as db:
            if self._last_rows is None:
                self._last_rows = self._load_last_rows(db)
            fine, coarse = self._last_rows["prefixes_fine"], self._last_rows["prefixes_coarse"]
            fine_rows, coarse_rows = [], []
            for c in counts:
                values = c.values()
                last = fine.get(c.session)
                if last is None or last[1] != values or ts - last[0] >= PREFIX_HEARTBEAT:
                    fine_rows.append((ts, c.session, *values))
                    fine[c.session] = (ts, values)
                last = coarse.get(c.session)
                # at most one coarse row per 5-minute bucket, as for the traffic counters
                if last is None or (last[0] // COARSE_STEP < ts // COARSE_STEP and (
                        last[1] != values or ts - last[0] >= PREFIX_COARSE_HEARTBEAT)):
                    coarse_rows.append((ts, c.session, *values))
                    coarse[c.session] = (ts, values)
            db.executemany("INSERT OR REPLACE INTO prefixes_fine VALUES (?,?,?,?,?,?)",
                           fine_rows)
            db.executemany("INSERT OR REPLACE INTO prefixes_coarse VALUES (?,?,?,?,?,?)",
                           coarse_rows)
            db.executemany(
                "INSERT INTO sessions VALUES (?,?,?,?,?,?) ON CONFLICT (session) DO UPDATE "
                "SET asn = excluded.asn, family = excluded.family, neighbor = excluded.neighbor,"
                " member = excluded.member, last_seen = excluded.last_seen",
                [(c.session, c.asn, c.family, c.neighbor, c.member, ts) for c in counts])
            db.execute("DELETE FROM prefixes_fine WHERE ts < ?", (ts - FINE_KEEP,))
            db.execute("DELETE FROM prefixes_coarse WHERE ts < ?", (ts - COARSE_KEEP,))
            db.execute("DELETE FROM sessions WHERE last_seen < ?", (ts - COARSE_KEEP,))
            written = len(fine_rows) + len(coarse_rows)
        return written

    def sessions(self, asn: int | None = None) -> list[SessionInfo]:
        """Sessions with counts (of one member when ``asn`` is given), by ASN and family."""
        with self._connect() as db:
            if asn is None:
                rows = db.execute("SELECT * FROM sessions").fetchall()
            else:
                rows = db.execute("SELECT * FROM sessions WHERE asn = ?", (asn,)).fetchall()
        infos = [SessionInfo(*r) for r in rows]
        return sorted(infos, key=lambda i: (i.asn or 0, i.family, i.neighbor, i.session))

    def prefix_series(self, session: str, since: int,
                      until: int | None = None) -> list[list[PrefixPoint]]:
        """A session's counts between ``since`` and ``until`` as step series: each inner list
        is a stretch the collector sampled without a break; the last point of each stretch
        repeats the counts at the time they were last seen."""
        with self._connect() as db:
            seen = db.execute("SELECT last_seen FROM sessions WHERE session = ?",
                              (session,)).fetchone()
            if seen is None:
                return []
            if until is None:
                until = seen[0]
            coarse = until - since > FINE_KEEP
            table = "prefixes_coarse" if coarse else "prefixes_fine"
            cols = "ts, received, accepted, filtered, exported"
            # the row before the range gives the counts at its start
            before = db.execute(f"SELECT {cols} FROM {table} WHERE session = ? AND ts < ? "
                                "ORDER BY ts DESC LIMIT 1", (session, since)).fetchone()
            rows = db.execute(f"SELECT {cols} FROM {table} WHERE session = ? AND ts >= ? AND "
                              "ts <= ? ORDER BY ts", (session, since, until)).fetchall()
        heartbeat = PREFIX_COARSE_HEARTBEAT if coarse else PREFIX_HEARTBEAT
        points = [PrefixPoint(*r) for r in rows]
        end = min(seen[0], until)
        following = points[0].ts if points else end
        if before is not None and end >= since and following - before[0] <= 2 * heartbeat:
            points.insert(0, PrefixPoint(since, *before[1:]))
        segments: list[list[PrefixPoint]] = []
        for p in points:
            if segments and p.ts - segments[-1][-1].ts <= 2 * heartbeat:
                segments[-1].append(p)
            else:
                segments.append([p])
        if segments and end > segments[-1][-1].ts and end - segments[-1][-1].ts <= 2 * heartbeat:
            last = segments[-1][-1]
            segments[-1].append(PrefixPoint(end, last.received, last.accepted, last.filtered,
                                            last.exported))
        return segments

    def prefix_row_counts(self) -> dict[str, int]:
        """How many rows the prefix tables hold (for the bound tests and the benchmark)."""
        with self._connect() as db:
            return {t: db.execute(f"SELECT COUNT(*) FROM prefixes_{t}").fetchone()[0]
                    for t in ("fine", "coarse")}

    def add_matrix(self, ts: int, pairs: Iterable[PairSample]) -> int:
        """Record one round of the matrix, at most once per tier's step; prune what is too
        old. Returns how many pair rows were written."""
        pairs = list(pairs)
        written = 0
        with self._lock, self._connect() as db:
            for table, (step, keep) in MATRIX_TIERS.items():
                last = db.execute(f"SELECT MAX(ts) FROM {table}_rounds").fetchone()[0]
                if last is None or last // step < ts // step:
                    db.execute(f"INSERT OR REPLACE INTO {table}_rounds VALUES (?)", (ts,))
                    db.executemany(f"INSERT OR REPLACE INTO {table} VALUES (?,?,?,?,?,?)",
                                   [(ts, p.src, p.dst, p.family, p.bytes, p.packets)
                                    for p in pairs])
                    written += len(pairs)
                db.execute(f"DELETE FROM {table} WHERE ts < ?", (ts - keep,))
                db.execute(f"DELETE FROM {table}_rounds WHERE ts < ?", (ts - keep,))
        return written

    def _matrix_table(self, since: int, until: int) -> str:
        return "matrix_fine" if until - since <= FINE_KEEP else "matrix_coarse"

    def matrix_rates(self, period: int, now: int | None = None) -> list[PairRate]:
        """Each pair's average rate over the last ``period`` seconds (up to ``now``), per
        family; pairs that exchanged nothing then are left out."""
        now = int(now if now is not None else time.time())
        since = now - period
        table = self._matrix_table(since, now)
        with self._connect() as db:
            # the round at or just before the period's start: it starts the first interval
            start = db.execute(f"SELECT MAX(ts) FROM {table}_rounds WHERE ts <= ?",
                               (since,)).fetchone()[0]
            lo = start if start is not None else since
            rounds = [r[0] for r in db.execute(
                f"SELECT ts FROM {table}_rounds WHERE ts >= ? AND ts <= ? ORDER BY ts",
                (lo, now))]
            rows = db.execute(f"SELECT src, dst, family, ts, bytes, packets FROM {table} "
                              "WHERE ts >= ? AND ts <= ?", (lo, now)).fetchall()
        series: dict[tuple[int, int, str], dict[int, tuple[int, int]]] = {}
        for src, dst, fam, ts, nbytes, npackets in rows:
            series.setdefault((src, dst, fam), {})[ts] = (nbytes, npackets)
        out = []
        for (src, dst, fam), values in sorted(series.items()):
            rate = period_rate(rounds, values)
            if rate is not None and rate[2] > 0:
                out.append(PairRate(src, dst, fam, *rate))
        return out

    def pair_rates(self, src: int, dst: int, since: int, until: int | None = None
                   ) -> list[Rate]:
        """The traffic between members ``src`` and ``dst`` as chart rates from ``src``'s
        side: out (tx) is what it sent to ``dst``, in (rx) what ``dst`` sent it; both
        families together."""
        until = int(until if until is not None else time.time())
        table = self._matrix_table(since, until)
        with self._connect() as db:
            rounds = [r[0] for r in db.execute(
                f"SELECT ts FROM {table}_rounds WHERE ts >= ? AND ts <= ? ORDER BY ts",
                (since, until))]
            rows = db.execute(
                f"SELECT src, ts, SUM(bytes), SUM(packets) FROM {table} WHERE ts >= ? AND "
                "ts <= ? AND ((src = ? AND dst = ?) OR (src = ? AND dst = ?)) "
                "GROUP BY src, ts", (since, until, src, dst, dst, src)).fetchall()
        sent = {ts: (b, p) for s, ts, b, p in rows if s == src}
        got = {ts: (b, p) for s, ts, b, p in rows if s != src}
        tx = {d[0]: d for d in counter_deltas(rounds, sent)}
        rx = {d[0]: d for d in counter_deltas(rounds, got)}
        out = []
        for ts in sorted(set(tx) & set(rx)):  # an interval reset on either side is left out
            dt = tx[ts][1]
            out.append(Rate(ts, rx[ts][2] * 8 / dt, tx[ts][2] * 8 / dt, rx[ts][3] / dt,
                            tx[ts][3] / dt))
        return out

    def matrix_peers(self, asn: int, since: int, until: int | None = None) -> list[int]:
        """The members ``asn`` exchanged traffic with between ``since`` and ``until`` (either
        way, both families), busiest first."""
        until = int(until if until is not None else time.time())
        totals: dict[int, int] = {}
        for r in self.matrix_rates(until - since, now=until):
            if asn in (r.src, r.dst):
                peer = r.dst if r.src == asn else r.src
                totals[peer] = totals.get(peer, 0) + r.bytes
        return [p for p, _ in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))]

    def matrix_row_counts(self) -> dict[str, int]:
        """How many pair rows each matrix tier holds (for the bound tests)."""
        with self._connect() as db:
            return {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                    for t in MATRIX_TIERS}
