"""Three-way merge of configuration data: re-base a change made on an older revision.

Two people (two tabs, two scripts) read revision N and each prepare a change. The first one is
committed as N+1; the second was made against N. Applying it as it is would silently undo the
first change (a lost update). Instead, what the second change did to N is replayed on N+1, as
long as the two changes touched different things: different members, different sections,
different settings. When both changed the same thing differently, the merge refuses and names
what both changed, so the caller can say "changed since you read it".

Lists of entries that have an identity are merged per entry: members by ASN (a member may have
several router entries, kept together), accounts, SNMP users and the like by ``name``. Other
lists (addresses, communities) are single values: changed on one side only, that side wins.
"""

from __future__ import annotations

from typing import Any

_MISSING = object()


class MergeConflict(ValueError):
    """Both sides changed the same setting to different values."""

    def __init__(self, paths: list[str]) -> None:
        super().__init__(", ".join(paths))
        self.paths = paths


def _key(entry: Any) -> Any:
    if isinstance(entry, dict):
        if "asn" in entry:
            return ("asn", str(entry["asn"]))
        if "name" in entry:
            return ("name", str(entry["name"]))
    return None


def _keyed(items: Any) -> dict[Any, list[Any]] | None:
    """``items`` grouped by identity, in order, or None when it is not a list of identities."""
    if not isinstance(items, list) or not items:
        return None if not isinstance(items, list) else {}
    groups: dict[Any, list[Any]] = {}
    for entry in items:
        key = _key(entry)
        if key is None:
            return None
        groups.setdefault(key, []).append(entry)
    return groups


def _merge_lists(base: list[Any], ours: list[Any], theirs: list[Any], path: str,
                 conflicts: list[str]) -> list[Any]:
    b, o, t = _keyed(base), _keyed(ours), _keyed(theirs)
    if b is None or o is None or t is None:
        return _merge_value(base, ours, theirs, path, conflicts)
    out: dict[Any, list[Any]] = {}
    # Their order first (it is what is committed), then what only ours added, in our order.
    for key in [*t, *(k for k in o if k not in t)]:
        merged = _merge_group(b.get(key, _MISSING), o.get(key, _MISSING),
                              t.get(key, _MISSING), f"{path}[{key[0]}={key[1]}]", conflicts)
        if merged is not _MISSING:
            out[key] = merged
    return [entry for group in out.values() for entry in group]


def _merge_group(base: Any, ours: Any, theirs: Any, path: str, conflicts: list[str]) -> Any:
    # One entry on every side: merge it setting by setting (one tab edits a member's name,
    # another its max-prefix). Several router entries of one member: the group is one value.
    if all(isinstance(x, list) and len(x) == 1 for x in (base, ours, theirs)):
        return [_merge(base[0], ours[0], theirs[0], path, conflicts)]
    return _merge_value(base, ours, theirs, path, conflicts)


def _merge_value(base: Any, ours: Any, theirs: Any, path: str, conflicts: list[str]) -> Any:
    if ours == base:
        return theirs
    if theirs in (base, ours):
        return ours
    conflicts.append(path or "(the whole configuration)")
    return theirs


def _merge(base: Any, ours: Any, theirs: Any, path: str, conflicts: list[str]) -> Any:
    if ours == base:
        return theirs
    if theirs in (base, ours):
        return ours
    if all(isinstance(x, dict) for x in (base, ours, theirs)):
        out: dict[str, Any] = {}
        for key in [*theirs, *(k for k in ours if k not in theirs)]:
            merged = _merge(base.get(key, _MISSING), ours.get(key, _MISSING),
                            theirs.get(key, _MISSING), f"{path}.{key}" if path else str(key),
                            conflicts)
            if merged is not _MISSING:
                out[key] = merged
        return out
    if all(isinstance(x, list) for x in (base, ours, theirs)):
        return _merge_lists(base, ours, theirs, path, conflicts)
    return _merge_value(base, ours, theirs, path, conflicts)


def merge3(base: dict[str, Any], ours: dict[str, Any], theirs: dict[str, Any]) -> dict[str, Any]:
    """``ours`` (a change made on ``base``) replayed on ``theirs`` (what is committed now).

    Raises ``MergeConflict`` naming every setting both sides changed differently.
    """
    conflicts: list[str] = []
    merged = _merge(base, ours, theirs, "", conflicts)
    if conflicts:
        raise MergeConflict(conflicts)
    return merged if isinstance(merged, dict) else {}
