"""IRR data for the route server: prefixes and origin ASNs registered for each member's AS-SET.

The data is gathered outside rendering (bgpq4 when the box is online, an imported file when it
is not) and handed to the pure renderer as ``IrrData``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field

from appliance.config.model import Member


@dataclass(frozen=True)
class IrrPrefix:
    """A registered prefix; lengths ``min_length``..``max_length`` match (default: exact)."""

    prefix: str
    max_length: int | None = None
    min_length: int | None = None

    def bird(self) -> str:
        """The BIRD prefix-set item, e.g. ``31.0.0.0/16{16,24}``."""
        net = ipaddress.ip_network(self.prefix)
        low = net.prefixlen if self.min_length is None else self.min_length
        high = low if self.max_length is None else self.max_length
        if low == high == net.prefixlen:
            return str(net)
        return f"{net}{{{low},{high}}}"


@dataclass(frozen=True)
class IrrEntry:
    """What the IRR says about one AS-SET (or single ASN)."""

    asns: tuple[int, ...] = ()
    prefixes4: tuple[IrrPrefix, ...] = ()
    prefixes6: tuple[IrrPrefix, ...] = ()
    fetched_at: str | None = None  # ISO time, shown as the data's age
    source: str = ""  # "bgpq4" or the imported file's name


@dataclass(frozen=True)
class IrrData:
    """IRR entries by object name (``AS-EXAMPLE`` or ``AS64500``)."""

    entries: Mapping[str, IrrEntry] = field(default_factory=dict)

    def for_member(self, member: Member) -> IrrEntry | None:
        """The entry for ``member``'s AS-SET (or its ASN when it has none), if known."""
        return self.entries.get(irr_object(member))


def irr_object(member: Member) -> str:
    """The IRR object that describes what ``member`` may announce."""
    return member.as_set or f"AS{member.asn}"


def _bgpq4_prefix(item: object, version: int) -> IrrPrefix:
    # bgpq4 -j writes {"prefix": P, "exact": bool, "greater-equal": n, "less-equal": m}.
    if not isinstance(item, dict) or "prefix" not in item:
        raise ValueError(f"not a bgpq4 prefix entry: {item!r}")
    net = ipaddress.ip_network(str(item["prefix"]))
    if net.version != version:
        raise ValueError(f"{net} is listed under IPv{version}")
    if item.get("exact", True):
        return IrrPrefix(str(net))
    low = int(item.get("greater-equal", net.prefixlen))
    high = int(item.get("less-equal", net.max_prefixlen))
    if not net.prefixlen <= low <= high <= net.max_prefixlen:
        raise ValueError(f"{net}: length range {low}-{high} is not possible")
    return IrrPrefix(str(net), high, None if low == net.prefixlen else low)


def parse_bgpq4_prefixes(data: object, version: int) -> tuple[IrrPrefix, ...]:
    """The prefixes of one ``bgpq4 -j -l NAME`` document (``{NAME: [entries]}``)."""
    if not isinstance(data, dict) or len(data) != 1:
        raise ValueError("bgpq4 JSON output holds exactly one named list")
    (items,) = data.values()
    return tuple(_bgpq4_prefix(p, version) for p in items)


def parse_bgpq4_asns(data: object) -> tuple[int, ...]:
    """The ASNs of one ``bgpq4 -j -t -l NAME`` document (``{NAME: [asn, ...]}``)."""
    if not isinstance(data, dict) or len(data) != 1:
        raise ValueError("bgpq4 JSON output holds exactly one named list")
    (items,) = data.values()
    return tuple(sorted({int(a) for a in items}))


def entry_as_data(entry: IrrEntry) -> dict[str, object]:
    """The cache-file form of ``entry`` (bgpq4 -j style prefix entries)."""
    def item(p: IrrPrefix) -> dict[str, object]:
        net = ipaddress.ip_network(p.prefix)
        if p.max_length is None and p.min_length is None:
            return {"prefix": p.prefix, "exact": True}
        out: dict[str, object] = {"prefix": p.prefix, "exact": False}
        if p.min_length is not None:
            out["greater-equal"] = p.min_length
        out["less-equal"] = p.max_length if p.max_length is not None else net.prefixlen
        return out
    return {"source": entry.source, "fetched_at": entry.fetched_at, "asns": list(entry.asns),
            "ipv4": [item(p) for p in entry.prefixes4],
            "ipv6": [item(p) for p in entry.prefixes6]}


def parse_irr_cache(data: object) -> IrrData:
    """The IRR cache/import file: ``{OBJECT: {asns, ipv4, ipv6, fetched_at, source}}``.

    ``ipv4``/``ipv6`` are lists of bgpq4 ``-j`` entries, so bgpq4 output can be imported as is.
    Raises ``ValueError`` naming the bad object.
    """
    if not isinstance(data, dict):
        raise ValueError("the IRR file must map AS-SET names to their data")
    entries: dict[str, IrrEntry] = {}
    for name, item in sorted(data.items()):
        try:
            entries[str(name).upper()] = IrrEntry(
                asns=tuple(sorted({int(a) for a in item.get("asns", [])})),
                prefixes4=tuple(_bgpq4_prefix(p, 4) for p in item.get("ipv4", [])),
                prefixes6=tuple(_bgpq4_prefix(p, 6) for p in item.get("ipv6", [])),
                fetched_at=item.get("fetched_at"),
                source=str(item.get("source", "")),
            )
        except (AttributeError, TypeError, ValueError) as exc:
            raise ValueError(f"IRR data for {name}: {exc}") from None
    return IrrData(entries)
