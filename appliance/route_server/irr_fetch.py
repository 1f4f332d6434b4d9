"""Gather IRR data with bgpq4 when the box is online; keep the last good data when it is not.

The cache file (``<state>/irr/cache.json``) has the same format as an imported file, so an
operator without Internet access can bring the data in on a USB stick.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from appliance.route_server.irr import (
    IrrData,
    IrrEntry,
    entry_as_data,
    irr_object,
    parse_bgpq4_asns,
    parse_bgpq4_prefixes,
    parse_irr_cache,
)
from appliance.util.atomic import atomic_write

if TYPE_CHECKING:
    from appliance.config.model import IXPConfig

Runner = Callable[..., subprocess.CompletedProcess[str]]


@dataclass
class RefreshResult:
    """The data after a refresh, and which objects could not be fetched (kept from cache)."""

    data: IrrData
    failed: dict[str, str] = field(default_factory=dict)


def bgpq4_argv(obj: str, what: str, sources: Sequence[str], host: str | None = None) -> list[str]:
    """bgpq4 arguments for ``what`` ("asns", "ipv4" or "ipv6") of an AS-SET or ASN."""
    argv = ["bgpq4", "-j", "-l", "irr"]
    if host:
        argv += ["-h", host]
    if sources:
        argv += ["-S", ",".join(sources)]
    argv += {"asns": ["-t"], "ipv4": ["-4"], "ipv6": ["-6"]}[what]
    # "--" ends the options (bgpq4 uses getopt): the object is never read as one, even if a
    # name starting with "-" got past the model's check.
    return [*argv, "--", obj]


def fetch_entry(obj: str, sources: Sequence[str], *, now: str, run: Runner = subprocess.run,
                host: str | None = None, timeout: float = 120) -> IrrEntry:
    """Ask the IRR (through bgpq4) for ``obj``'s ASNs and prefixes; raise on any failure."""
    docs = {}
    for what in ("asns", "ipv4", "ipv6"):
        res = run(bgpq4_argv(obj, what, sources, host), capture_output=True, text=True,
                  timeout=timeout, check=False)
        if res.returncode != 0:
            raise RuntimeError(f"bgpq4 failed for {obj}: {(res.stderr or '').strip()}")
        docs[what] = json.loads(res.stdout)
    return IrrEntry(asns=parse_bgpq4_asns(docs["asns"]),
                    prefixes4=parse_bgpq4_prefixes(docs["ipv4"], 4),
                    prefixes6=parse_bgpq4_prefixes(docs["ipv6"], 6),
                    fetched_at=now, source="bgpq4 " + ",".join(sources))


def load_cache(path: Path) -> IrrData:
    """The cached (or imported) IRR data; empty when there is none yet."""
    try:
        return parse_irr_cache(json.loads(path.read_text()))
    except FileNotFoundError:
        return IrrData()


def save_cache(path: Path, data: IrrData) -> None:
    """Write the cache atomically, objects sorted so the file diffs cleanly."""
    doc = {name: entry_as_data(data.entries[name]) for name in sorted(data.entries)}
    atomic_write(path, (json.dumps(doc, indent=1) + "\n").encode(), 0o644)


def refresh(objects: Iterable[str], sources: Sequence[str], cache: Path, *, now: str,
            run: Runner = subprocess.run) -> RefreshResult:
    """Fetch every object; on failure keep the cached entry (with its old age) and say so."""
    old = load_cache(cache)
    entries = dict(old.entries)
    failed: dict[str, str] = {}
    for obj in sorted(set(objects)):
        try:
            entries[obj] = fetch_entry(obj, sources, now=now, run=run)
        except (OSError, RuntimeError, ValueError, subprocess.TimeoutExpired) as exc:
            failed[obj] = str(exc)
    data = IrrData(entries)
    save_cache(cache, data)
    return RefreshResult(data, failed)


def refresh_members(cfg: IXPConfig, cache: Path, run: Runner = subprocess.run
                    ) -> RefreshResult:
    """``refresh`` of every member's IRR object (AS-SET, else its ASN), now."""
    objects = sorted({irr_object(m) for m in cfg.members})
    now = datetime.now(UTC).isoformat(timespec="seconds")
    return refresh(objects, cfg.route_server.irr_sources, cache, now=now, run=run)


def age_seconds(entry: IrrEntry, now: datetime) -> float | None:
    """How old an entry's data is, for the UI ("fetched 3 days ago"); None if unknown."""
    if not entry.fetched_at:
        return None
    fetched = datetime.fromisoformat(entry.fetched_at.replace("Z", "+00:00"))
    return (now - fetched).total_seconds()
