"""The agent's object tree: MIB sections answering GET and GETNEXT from short-lived snapshots.

Each section owns one subtree (e.g. IF-MIB's ifTable) and builds a sorted list of
``(oid, value)`` pairs from the real system. The snapshot is kept for ``ttl`` seconds so that a
full walk, which asks thousands of questions, reads netlink or BIRD once rather than each time.
Values are kept BER-encoded: a pyasn1 object costs about 470 bytes, its encoding about 40, and
with 1000 members the snapshots hold some 80 000 of them (issue 14: the 1 GB box). A snapshot
is two byte strings (the packed OIDs, the encoded values, each in order) and their offsets:
a Python object per OID and per value cost some 330 bytes an OID, the strings about 30.
"""

from __future__ import annotations

import itertools
import logging
import struct
import time
from array import array
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from appliance.snmp import ber

log = logging.getLogger(__name__)

Oid = tuple[int, ...]
Row = tuple[Oid, Any]  # value: a pysnmp (pyasn1) SNMP type instance, or its BER bytes
# One cell: the function that makes the SNMP value and its arguments, e.g.
# ``(rfc1902.Integer32, mtu)`` or ``(display_string, alias, IF_ALIAS)``.
Cell = tuple[Any, ...]
T = TypeVar("T")

_reported: set[tuple[str, str, str]] = set()
_REPORTED_MAX = 1000


def _report(table: str, where: str, exc: BaseException) -> None:
    # A snapshot is rebuilt every few seconds: say each distinct problem once, not each time.
    key = (table, where, f"{type(exc).__name__}: {exc}")
    if key in _reported:
        log.debug("%s: %s still cannot be built: %s", *key)
        return
    if len(_reported) >= _REPORTED_MAX:
        _reported.clear()
    _reported.add(key)
    log.error("%s: %s cannot be built, left out (the rest is served): %s", *key,
              exc_info=exc)


def table_cells(table: str, entry: Oid, index: Oid, cells: Mapping[int, Cell]) -> list[Row]:
    """The rows ``entry.column.index`` of one table row; a cell that fails is logged and left
    out, so one bad value costs that value, not the row or the table."""
    out: list[Row] = []
    for column, (make, *args) in cells.items():
        try:
            # encoded at once: the pyasn1 object is garbage before the next cell is made
            out.append(((*entry, column, *index), ber.encode_value(make(*args))))
        except Exception as exc:
            _report(table, f"column {column} of row {'.'.join(map(str, index))}", exc)
    return out


def each_item(table: str, items: Iterable[T], build: Callable[[T], Iterable[Row]],
              label: Callable[[T], str] = repr) -> list[Row]:
    """``build(item)`` for every item; an item whose rows fail is logged and left out."""
    out: list[Row] = []
    for item in items:
        try:
            out.extend(build(item))
        except Exception as exc:
            try:
                name = label(item)
            except Exception:
                name = "?"
            _report(table, f"row {name}", exc)
    return out

# What runs a blocking collector: the agent sends them to a worker thread, tests call directly.
Runner = Callable[[Callable[[], list[Any]]], list[Any]]


def _direct(fn: Callable[[], list[Any]]) -> list[Any]:
    return fn()


def subtree_end(root: Oid) -> Oid:
    """The first OID after every OID under ``root``."""
    return (*root[:-1], root[-1] + 1)


# A stored OID is its part below the section's root, four bytes per sub-identifier, big-endian:
# bytes compare as the tuples do (a shorter prefix first), at a third of a tuple's size.
_MAX_SUB = 0xFFFFFFFF  # RFC 2578's bound of a sub-identifier


def _pack(sub: Sequence[int]) -> bytes:
    # beyond the bound (never stored): the largest, so a GETNEXT still lands after it
    return struct.pack(f">{len(sub)}I", *(min(max(n, 0), _MAX_SUB) for n in sub))


def _offsets() -> array[int]:
    return array("I", [0])


@dataclass
class Section:
    """One subtree and the function that lists its objects now."""

    root: Oid
    collect: Callable[[], Iterable[Row]]
    ttl: float = 5.0
    name: str = ""
    # The snapshot: keys (see _pack) and BER values, concatenated in OID order; object i is
    # _kb[_ko[i]:_ko[i + 1]] and _vb[_vo[i]:_vo[i + 1]].
    _kb: bytes = field(default=b"", repr=False)
    _ko: array[int] = field(default_factory=_offsets, repr=False)
    _vb: bytes = field(default=b"", repr=False)
    _vo: array[int] = field(default_factory=_offsets, repr=False)
    _stamp: float = field(default=-1e18, repr=False)
    # The object a GETNEXT last answered: a walk asks for the one after it next.
    _last: int = field(default=-1, repr=False)

    def _build(self) -> list[tuple[bytes, bytes]]:
        """The section's objects now as (packed key, BER value), sorted."""
        depth = len(self.root)
        rows: list[tuple[bytes, bytes]] = []
        try:
            for oid, value in self.collect():
                if oid[:depth] != self.root:
                    continue
                # packed at once: the OID tuple is garbage before the next object is made
                if isinstance(value, bytes):
                    rows.append((_pack(oid[depth:]), value))
                    continue
                try:
                    rows.append((_pack(oid[depth:]), ber.encode_value(value)))
                except Exception as exc:
                    _report(self.name, f"object {'.'.join(map(str, oid))}", exc)
        except Exception:  # a broken source must not take the whole agent down
            log.exception("collecting %s failed; serving no objects for it", self.name)
            rows = []
        rows.sort(key=lambda r: r[0])  # bytes sort as the OIDs do (see _pack)
        return rows

    def __len__(self) -> int:
        return len(self._ko) - 1

    def refresh(self, runner: Runner = _direct, now: float | None = None) -> None:
        """Rebuild the snapshot if it is older than ``ttl``."""
        now = time.monotonic() if now is None else now
        if now - self._stamp < self.ttl:
            return
        # the old snapshot goes first: with 1000 members the two together were the agent's peak
        self._kb, self._ko, self._vb, self._vo = b"", _offsets(), b"", _offsets()
        rows = runner(self._build)
        ko, vo = _offsets(), _offsets()
        kb, vb = bytearray(), bytearray()
        for key, value in rows:
            kb += key
            vb += value
            ko.append(len(kb))
            vo.append(len(vb))
        del rows
        self._kb, self._ko, self._vb, self._vo = bytes(kb), ko, bytes(vb), vo
        self._stamp = now

    def invalidate(self) -> None:
        """Forget the snapshot (after a reload)."""
        self._stamp = -1e18

    def _key(self, i: int) -> bytes:
        return self._kb[self._ko[i]:self._ko[i + 1]]

    def _value(self, i: int) -> bytes:
        return self._vb[self._vo[i]:self._vo[i + 1]]

    def _bisect(self, key: bytes, *, right: bool) -> int:
        # bisect_left/bisect_right over the packed keys, without a list of them
        lo, hi = 0, len(self)
        while lo < hi:
            mid = (lo + hi) // 2
            k = self._key(mid)
            if k < key or (right and k == key):
                lo = mid + 1
            else:
                hi = mid
        return lo

    def _oid(self, i: int) -> Oid:
        key = self._key(i)
        return (*self.root, *struct.unpack(f">{len(key) // 4}I", key))

    def get_ber(self, oid: Oid) -> bytes | None:
        """The BER-encoded value at exactly ``oid``, or None."""
        depth = len(self.root)
        if oid[:depth] != self.root or any(not 0 <= n <= _MAX_SUB for n in oid[depth:]):
            return None
        key = _pack(oid[depth:])
        i = self._bisect(key, right=False)
        if i < len(self) and self._key(i) == key:
            return self._value(i)
        return None

    def get(self, oid: Oid) -> Any | None:
        """The value at exactly ``oid`` (a pysnmp object), or None."""
        value = self.get_ber(oid)
        return None if value is None else ber.decode_value(value)

    def next_after_ber(self, oid: Oid) -> tuple[Oid, bytes] | None:
        """The first object strictly after ``oid``, its value BER-encoded, or None."""
        depth = len(self.root)
        if oid[:depth] == self.root:
            sub = oid[depth:]
            if any(n > _MAX_SUB for n in sub):
                # after every OID that starts like it up to there: past all of that prefix
                cut = next(k for k, n in enumerate(sub) if n > _MAX_SUB)
                i = self._bisect(_pack((*sub[:cut - 1], sub[cut - 1] + 1)), right=False) \
                    if cut else len(self)
            else:
                key = _pack(sub)
                last = self._last
                if 0 <= last < len(self) and self._key(last) == key:
                    i = last + 1  # the walk goes on: no search
                    while i < len(self) and self._key(i) == key:
                        i += 1  # (as bisect_right: past a repeated OID)
                else:
                    i = self._bisect(key, right=True)
        elif oid < self.root:
            i = 0
        else:
            i = len(self)
        if i < len(self):
            self._last = i
            return self._oid(i), self._value(i)
        return None

    def next_after(self, oid: Oid) -> Row | None:
        """The first object strictly after ``oid`` (value a pysnmp object), or None."""
        row = self.next_after_ber(oid)
        return None if row is None else (row[0], ber.decode_value(row[1]))


class ObjectTree:
    """All sections, in OID order; GET and GETNEXT over the whole agent."""

    def __init__(self, sections: Sequence[Section], runner: Runner = _direct) -> None:
        roots = sorted(s.root for s in sections)
        for a, b in itertools.pairwise(roots):
            if b[: len(a)] == a:
                raise ValueError(f"sections overlap: {a} and {b}")
        self.sections = sorted(sections, key=lambda s: s.root)
        self.runner = runner

    def _section_of(self, oid: Oid) -> Section | None:
        for s in self.sections:
            if oid[: len(s.root)] == s.root:
                return s
        return None

    def get_ber(self, oid: Oid) -> tuple[str, bytes | None]:
        """("ok", BER value), ("noSuchObject", None) or ("noSuchInstance", None)."""
        s = self._section_of(oid)
        if s is None:
            return "noSuchObject", None
        s.refresh(self.runner)
        value = s.get_ber(oid)
        if value is None:
            return "noSuchInstance", None
        return "ok", value

    def get(self, oid: Oid) -> tuple[str, Any]:
        """("ok", value), ("noSuchObject", None) or ("noSuchInstance", None); pysnmp values."""
        status, value = self.get_ber(oid)
        return status, None if value is None else ber.decode_value(value)

    def next_ber(self, oid: Oid) -> tuple[Oid, bytes] | None:
        """The first object after ``oid`` in the whole agent (BER value), or None at the end."""
        for s in self.sections:
            if oid >= subtree_end(s.root):
                continue
            s.refresh(self.runner)
            row = s.next_after_ber(oid)
            if row is not None:
                return row
        return None

    def next(self, oid: Oid) -> Row | None:
        """The first object after ``oid`` in the whole agent, or None at the end of the MIB."""
        row = self.next_ber(oid)
        return None if row is None else (row[0], ber.decode_value(row[1]))

    def invalidate(self) -> None:
        """Force every section to re-read the system on the next request."""
        for s in self.sections:
            s.invalidate()
