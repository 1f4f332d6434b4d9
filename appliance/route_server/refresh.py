"""The route server's filter data, fetched again by itself: IRR prefix lists and PeeringDB.

``fetch`` asks bgpq4 and PeeringDB, writes what changed into the files the route server
reads (``irr/cache.json``, ``peeringdb/peeringdb.json``), records the attempt in
``refresh/status.json`` and says, per member, what changed. The composition root
(``appliance.box.refresh_data``) then applies it through the pipeline. Nothing here is lost
offline: a source that cannot be reached leaves its file as it was, and the failure and the
time of the last success are recorded for the status (``route_server.status.data_freshness``).

Data that came back the same is not written again, so the rendered ``bird.conf`` (which names
the data's time) does not change and no revision is made; the status file says it was checked.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from appliance.config.model import DataRefresh, IXPConfig
from appliance.route_server import peeringdb_fetch
from appliance.route_server.irr import IrrData, IrrEntry, irr_object
from appliance.route_server.irr_fetch import Runner, fetch_entry, load_cache, save_cache
from appliance.route_server.peeringdb import NeverViaRs, dump_path, load_never_via_rs
from appliance.route_server.render import max_prefix
from appliance.util.atomic import atomic_write

SOURCES = ("irr", "peeringdb")
STATUS_FILE = "refresh/status.json"
IRR_CACHE = "irr/cache.json"  # the same file as route_server.concern.IRR_CACHE


def iso(when: datetime) -> str:
    """UTC, seconds, ``Z``: the form every time of the data files has."""
    return when.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def parse_time(text: object) -> datetime | None:
    """An ISO time of the data files or the status file; None when absent or unreadable."""
    if not isinstance(text, str) or not text:
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


# --- the record of attempts -----------------------------------------------------------------


def status_path(state_dir: Path) -> Path:
    """Where the attempts are recorded."""
    return Path(state_dir) / STATUS_FILE


def read_state(state_dir: Path) -> dict[str, Any]:
    """``{source: {attempted, succeeded, error}, "last": {...}}``; empty before any attempt."""
    try:
        data = json.loads(status_path(state_dir).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_state(state_dir: Path, state: dict[str, Any]) -> None:
    atomic_write(status_path(state_dir), (json.dumps(state, indent=1, sort_keys=True)
                                          + "\n").encode("utf-8"), 0o644)


def record(state_dir: Path, **values: Any) -> None:
    """Merge ``values`` (per source, or ``last``) into the status file."""
    state = read_state(state_dir)
    for key, value in values.items():
        if isinstance(value, dict) and isinstance(state.get(key), dict):
            state[key] = {**state[key], **value}
        else:
            state[key] = value
    _write_state(state_dir, state)


def record_revision(state_dir: Path, rev_id: int, sources: list[str],
                    changes: list[dict[str, Any]]) -> None:
    """Keep what a refresh revision changed, as data, so the history can say it in the
    reader's language (the revision's comment has it in English)."""
    path = Path(state_dir) / "refresh" / "revisions" / f"{rev_id:06d}.json"
    atomic_write(path, (json.dumps({"sources": sources, "changes": changes}, indent=1)
                        + "\n").encode("utf-8"), 0o644)


def revision_changes(state_dir: Path, rev_id: int) -> dict[str, Any] | None:
    """What refresh revision ``rev_id`` changed (``record_revision``); None if not recorded."""
    path = Path(state_dir) / "refresh" / "revisions" / f"{rev_id:06d}.json"
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("changes"), list) else None


def due(state_dir: Path, settings: DataRefresh, now: datetime,
        since: datetime | None = None) -> list[str]:
    """The sources whose interval has passed since their last attempt.

    A source never attempted is due at once, unless ``since`` is given (the lab's runner: a
    lab starts with its own data, so its first refresh comes one interval after the start).
    """
    if not settings.enabled:
        return []
    state = read_state(state_dir)
    hours = {"irr": settings.irr_hours, "peeringdb": settings.peeringdb_hours}
    out = []
    for source in SOURCES:
        last = parse_time((state.get(source) or {}).get("attempted")) or since
        if last is None or now - last >= timedelta(hours=hours[source]):
            out.append(source)
    return out


# --- fetching -------------------------------------------------------------------------------


@dataclass
class FetchOutcome:
    """What one refresh fetched: which files changed, what failed, and what changed per member
    (plain data for ``config.summary.data_change_lines``)."""

    sources: list[str]
    changed: list[str] = field(default_factory=list)  # "irr", "peeringdb": files rewritten
    failures: dict[str, str] = field(default_factory=dict)  # source -> why
    changes: list[dict[str, Any]] = field(default_factory=list)
    previous: dict[str, bytes | None] = field(default_factory=dict)  # file -> old bytes


def _same(a: IrrEntry, b: IrrEntry) -> bool:
    return replace(a, fetched_at=None) == replace(b, fetched_at=None)


def _fetch_irr(state_dir: Path, cfg: IXPConfig, now: datetime,
               run: Runner) -> tuple[bool, str | None]:
    cache = state_dir / IRR_CACHE
    old = load_cache(cache)
    entries = dict(old.entries)
    failed: dict[str, str] = {}
    changed = False
    objects = sorted({irr_object(m) for m in cfg.members})
    for obj in objects:
        try:
            entry = fetch_entry(obj, cfg.route_server.irr_sources, now=iso(now), run=run)
        except (OSError, RuntimeError, ValueError, subprocess.TimeoutExpired) as exc:
            failed[obj] = str(exc) or type(exc).__name__
            continue
        if obj in entries and _same(entries[obj], entry):
            continue  # the same data: its file and its time stay, bird.conf does not change
        entries[obj] = entry
        changed = True
    if changed:
        save_cache(cache, IrrData(entries))
    if not failed:
        return changed, None
    first = next(iter(sorted(failed.items())))
    if len(failed) == len(objects):
        return changed, f"bgpq4 could not fetch any IRR object ({first[0]}: {first[1]})"
    return changed, (f"bgpq4 could not fetch {len(failed)} of {len(objects)} IRR objects "
                     f"({', '.join(sorted(failed))}; {first[0]}: {first[1]}); their last "
                     "data is kept")


def _fetch_peeringdb(state_dir: Path, cfg: IXPConfig, now: datetime) -> bool:
    path = dump_path(state_dir)
    try:
        old = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        old = None
    asns = [m.asn for m in cfg.members]
    ix_id = cfg.identity.peeringdb_ix_id
    url = cfg.route_server.refresh.peeringdb_url or peeringdb_fetch.PEERINGDB_API
    fresh = peeringdb_fetch.fetch(url, asns, ix_id)
    merged = peeringdb_fetch.merge(old, fresh, asns, ix_id)
    if peeringdb_fetch.same_data(old, merged):
        return False
    merged["meta"] = {"generated": int(now.timestamp())}
    atomic_write(path, (json.dumps(merged, indent=1, sort_keys=True) + "\n").encode("utf-8"),
                 0o644)
    return True


def _read_bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def restore(state_dir: Path, previous: dict[str, bytes | None]) -> None:
    """Put the data files back as they were before a refresh (its apply failed)."""
    for rel, content in previous.items():
        path = Path(state_dir) / rel
        if content is None:
            path.unlink(missing_ok=True)
        else:
            atomic_write(path, content, 0o644)


def fetch(state_dir: Path, cfg: IXPConfig, sources: Iterable[str], *, now: datetime,
          run: Runner = subprocess.run) -> FetchOutcome:
    """Fetch ``sources`` ("irr", "peeringdb"), write what changed, record every attempt."""
    state_dir = Path(state_dir)
    wanted = [s for s in SOURCES if s in set(sources)]
    files = {"irr": IRR_CACHE, "peeringdb": str(dump_path(state_dir).relative_to(state_dir))}
    out = FetchOutcome(wanted, previous={files[s]: _read_bytes(state_dir / files[s])
                                         for s in wanted})
    before = _data(state_dir)
    for source in wanted:
        try:
            if source == "irr":
                changed, error = _fetch_irr(state_dir, cfg, now, run)
            else:
                changed, error = _fetch_peeringdb(state_dir, cfg, now), None
        except peeringdb_fetch.PeeringDbUnavailable as exc:
            changed, error = False, f"PeeringDB could not be reached: {exc}"
        if changed:
            out.changed.append(source)
        if error:
            out.failures[source] = error
        entry: dict[str, Any] = {"attempted": iso(now), "error": error}
        if error is None:
            entry["succeeded"] = iso(now)
        record(state_dir, **{source: entry})
    out.previous = {files[s]: out.previous[files[s]] for s in out.changed}
    if out.changed:
        out.changes = member_changes(cfg, before, _data(state_dir))
    return out


# --- what changed, per member ---------------------------------------------------------------


def _data(state_dir: Path) -> tuple[IrrData, NeverViaRs]:
    return load_cache(state_dir / IRR_CACHE), load_never_via_rs(dump_path(state_dir))


def _entry_sets(entry: IrrEntry | None) -> dict[str, set[str]]:
    if entry is None:
        return {"ipv4": set(), "ipv6": set(), "asns": set()}
    return {"ipv4": {p.bird() for p in entry.prefixes4},
            "ipv6": {p.bird() for p in entry.prefixes6},
            "asns": {f"AS{a}" for a in entry.asns}}


def _sorted(items: Sequence[str] | set[str]) -> list[str]:
    return sorted(items, key=lambda s: (len(s), s))


def member_changes(cfg: IXPConfig, before: tuple[IrrData, NeverViaRs],
                   after: tuple[IrrData, NeverViaRs]) -> list[dict[str, Any]]:
    """Per member, what the route server now does differently with the new data.

    Each change is ``{"asn", "name", "kind", ...}``; kinds: ``irr_new`` (first data: counts),
    ``irr`` (``family`` ipv4/ipv6/asns, ``added``, ``removed``), ``max_prefix`` (``family``,
    ``before``, ``after``: the limit BIRD applies), ``as_set`` (what PeeringDB publishes),
    ``never_via_rs`` (``flagged``); and one ``never_via_rs_list`` for other networks.
    """
    irr0, pdb0 = before
    irr1, pdb1 = after
    out: list[dict[str, Any]] = []
    for m in cfg.members:
        who = {"asn": m.asn, "name": m.name}
        e0, e1 = irr0.for_member(m), irr1.for_member(m)
        if e0 is None and e1 is not None:
            out.append({**who, "kind": "irr_new", "object": irr_object(m),
                        "ipv4": len(e1.prefixes4), "ipv6": len(e1.prefixes6)})
        elif e0 is not None and e1 is not None:
            s0, s1 = _entry_sets(e0), _entry_sets(e1)
            for fam in ("ipv4", "ipv6", "asns"):
                added, removed = s1[fam] - s0[fam], s0[fam] - s1[fam]
                if added or removed:
                    out.append({**who, "kind": "irr", "object": irr_object(m), "family": fam,
                                "added": _sorted(added), "removed": _sorted(removed)})
        for afi, fam in ((4, "ipv4"), (6, "ipv6")):
            old, new = max_prefix(m, afi, pdb0.prefixes), max_prefix(m, afi, pdb1.prefixes)
            if old != new:
                out.append({**who, "kind": "max_prefix", "family": fam, "before": old,
                            "after": new})
        a0, a1 = pdb0.as_sets.get(m.asn), pdb1.as_sets.get(m.asn)
        if a0 != a1:
            out.append({**who, "kind": "as_set", "before": a0, "after": a1,
                        "configured": m.as_set})
        f0, f1 = m.asn in pdb0.asns, m.asn in pdb1.asns
        if f0 != f1:
            out.append({**who, "kind": "never_via_rs", "flagged": f1})
    members = {m.asn for m in cfg.members}
    added = sorted(set(pdb1.asns) - set(pdb0.asns) - members)
    removed = sorted(set(pdb0.asns) - set(pdb1.asns) - members)
    if added or removed:
        out.append({"asn": None, "name": "", "kind": "never_via_rs_list",
                    "added": [f"AS{a}" for a in added], "removed": [f"AS{a}" for a in removed]})
    return out
