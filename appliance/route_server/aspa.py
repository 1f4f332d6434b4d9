"""ASPA records for the route server's path verification, from the VRP file the box imports.

rpki-client's JSON export carries the validated ASPA objects beside the ROAs::

    "aspas": [{"customer_asid": 64501, "expires": 1767225600, "providers": [64510, 64511]}]

(older rpki-client versions: ``"provider_set": [{"provider_asid": 64510, "afi_limit": ...}]``;
both are read). They are rendered into bird.conf as a static ASPA protocol, so importing a new
VRP file goes through the pipeline like IRR data does. ASPA over RTR (v2) is not used: BIRD
2.17 with Debian 13's stayrtr 0.6.2 negotiates version 2 but receives no records.

An empty provider list, or AS0 alone, is the "no providers" ASPA (BIRD's ``transit``): any
path in which that AS has an ASN above it is then Invalid.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_ASN = 2**32 - 1


@dataclass(frozen=True)
class Aspa:
    """One customer AS and the providers it authorises (empty: none, a "transit" ASPA)."""

    customer: int
    providers: tuple[int, ...]


@dataclass(frozen=True)
class AspaData:
    """The ASPA records the route server verifies paths with."""

    records: tuple[Aspa, ...] = ()
    source: str | None = None  # the file's name; None: no VRP file imported
    expired: int = 0  # records left out because their "expires" time had passed
    problem: str | None = None  # why a file that exists could not be read


def _asn(value: Any, where: str) -> int:
    # rpki-client writes plain numbers; ROA entries elsewhere use "AS64501", so take both.
    if isinstance(value, str) and value.upper().startswith("AS"):
        value = value[2:]
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_ASN:
        raise ValueError(f"{where} must be an ASN (0 to {MAX_ASN}), not {value!r}")
    return value


def _providers(entry: dict[str, Any], where: str) -> list[int]:
    if "providers" in entry:
        raw = entry["providers"]
        if not isinstance(raw, list):
            raise ValueError(f"{where}.providers must be a list of ASNs")
        return [_asn(p, f"{where}.providers[{i}]") for i, p in enumerate(raw)]
    if "provider_set" in entry:  # rpki-client before 9.0
        raw = entry["provider_set"]
        if not isinstance(raw, list):
            raise ValueError(f"{where}.provider_set must be a list")
        out = []
        for i, p in enumerate(raw):
            if not isinstance(p, dict) or "provider_asid" not in p:
                raise ValueError(f"{where}.provider_set[{i}] needs 'provider_asid'")
            out.append(_asn(p["provider_asid"], f"{where}.provider_set[{i}].provider_asid"))
        return out
    raise ValueError(f"{where} needs 'providers' (or 'provider_set')")


def parse_aspas(data: Any, *, now: float | None = None) -> AspaData:
    """The ASPA records of a parsed VRP export (none when it has no ``aspas``).

    Raises ``ValueError`` naming the first bad entry. Records whose ``expires`` time has
    passed (at ``now``) are left out and counted; records of the same customer are merged.
    """
    if not isinstance(data, dict) or "aspas" not in data:
        return AspaData()
    aspas = data["aspas"]
    if not isinstance(aspas, list):
        raise ValueError("'aspas' must be a list (rpki-client's JSON export)")
    now = time.time() if now is None else now
    merged: dict[int, set[int]] = {}
    expired = 0
    for i, entry in enumerate(aspas):
        where = f"aspas[{i}]"
        if not isinstance(entry, dict) or "customer_asid" not in entry:
            raise ValueError(f"{where} needs 'customer_asid'")
        customer = _asn(entry["customer_asid"], f"{where}.customer_asid")
        if customer == 0:
            raise ValueError(f"{where}.customer_asid cannot be AS0")
        providers = _providers(entry, where)
        expires = entry.get("expires")
        if expires is not None and (isinstance(expires, bool)
                                    or not isinstance(expires, int | float)):
            raise ValueError(f"{where}.expires must be a Unix time, not {expires!r}")
        if expires is not None and expires < now:
            expired += 1
            continue
        if customer in providers:
            raise ValueError(f"{where}: AS{customer} lists itself as its own provider")
        # AS0 means "no providers"; it never stands beside real ones in a valid object.
        merged.setdefault(customer, set()).update(p for p in providers if p != 0)
    records = tuple(Aspa(c, tuple(sorted(p))) for c, p in sorted(merged.items()))
    return AspaData(records, expired=expired)


def load_aspas(path: Path, *, now: float | None = None) -> AspaData:
    """The ASPA records of the VRP file at ``path``; empty (with the reason) when missing/bad.

    The import (``rpki_service.check_vrps``) refuses a bad file, so ``problem`` is set only for
    a file changed behind the box's back; the route server is then configured without ASPA
    data (every path Unknown) rather than not at all.
    """
    try:
        raw = path.read_text("utf-8")
    except FileNotFoundError:
        return AspaData()
    except OSError as exc:
        return AspaData(source=path.name, problem=f"cannot read {path}: {exc.strerror}")
    try:
        data = parse_aspas(json.loads(raw), now=now)
    except ValueError as exc:
        return AspaData(source=path.name, problem=f"{path.name}: {exc}")
    return AspaData(data.records, source=path.name, expired=data.expired)
