"""What the route server takes from the PeeringDB dump on the box: the never-via-RS networks,
and the max-prefix numbers networks publish (for members without a max_prefix of their own).

PeeringDB's ``info_never_via_route_servers`` flag says a network never reaches anybody through
a route server, so a path through it seen at ours is a leak. The dump is the file the Data page
and the member form read (``<state_dir>/peeringdb/peeringdb.json``, PeeringDB's API format);
it is loaded once here and handed to the pure renderer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class NeverViaRs:
    """ASNs flagged never-via-route-servers, and how old the dump they came from is."""

    asns: tuple[int, ...] = ()
    as_of: str | None = None  # the dump file's time (UTC, ISO 8601); None: no dump loaded
    problem: str | None = None  # why a dump that exists could not be read
    # ASN -> (info_prefixes4, info_prefixes6), each None when the network gives none
    prefixes: dict[int, tuple[int | None, int | None]] = field(default_factory=dict)
    # ASN -> the AS-SET the network publishes (irr_as_set's first item), when it gives one
    as_sets: dict[int, str] = field(default_factory=dict)


def dump_path(state_dir: Path) -> Path:
    """Where the PeeringDB dump lives (the same file the web UI takes as an upload)."""
    return state_dir / "peeringdb" / "peeringdb.json"


def parse_never_via_rs(data: Any, as_of: str | None = None) -> NeverViaRs:
    """The flagged ASNs of a parsed dump; raise ``ValueError`` when it has no ``net`` table."""
    if not isinstance(data, dict) or "net" not in data:
        raise ValueError("a PeeringDB dump needs a 'net' table (PeeringDB's API format)")
    section = data["net"]
    rows = section.get("data") if isinstance(section, dict) else section
    asns = {r["asn"] for r in rows or []
            if isinstance(r, dict) and r.get("info_never_via_route_servers") is True
            and isinstance(r.get("asn"), int) and 0 < r["asn"] < 2**32}
    prefixes = {r["asn"]: (_count(r.get("info_prefixes4")), _count(r.get("info_prefixes6")))
                for r in rows or [] if isinstance(r, dict) and isinstance(r.get("asn"), int)}
    # PeeringDB's cached API files say when they were generated; that beats the file's time.
    meta = data.get("meta")
    generated = meta.get("generated") if isinstance(meta, dict) else None
    if isinstance(generated, int | float) and generated > 0:
        as_of = _iso(datetime.fromtimestamp(generated, UTC))
    as_sets = {r["asn"]: str(r["irr_as_set"]).split()[0] for r in rows or []
               if isinstance(r, dict) and isinstance(r.get("asn"), int)
               and isinstance(r.get("irr_as_set"), str) and r["irr_as_set"].strip()}
    return NeverViaRs(tuple(sorted(asns)), as_of,
                      prefixes={a: c for a, c in prefixes.items() if c != (None, None)},
                      as_sets=as_sets)


def _count(value: Any) -> int | None:
    # PeeringDB writes 0 (or nothing) for "not given".
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 \
        else None


def _iso(when: datetime) -> str:
    return when.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def load_never_via_rs(path: Path) -> NeverViaRs:
    """The list from the dump at ``path``; empty (with the reason) when it is missing or bad.

    A bad dump must not stop the route server from being configured: the check then has no
    ASNs, and ``problem`` says why so that status pages can show it.
    """
    try:
        raw = path.read_text("utf-8")
        mtime = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    except FileNotFoundError:
        return NeverViaRs()
    except OSError as exc:
        return NeverViaRs(problem=f"cannot read {path}: {exc.strerror}")
    as_of = _iso(mtime)
    try:
        return parse_never_via_rs(json.loads(raw), as_of)
    except ValueError as exc:
        return NeverViaRs(as_of=as_of, problem=f"{path.name}: {exc}")
