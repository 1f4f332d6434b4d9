"""Running ``nft`` for one table of ours, and reloading that table in place.

Shared by the peering-LAN hygiene table (``appliance.bridge``) and the management firewall
(``appliance.firewall``). Everything runs inside the given network namespace (the lab's
appliance namespace), or on the host only when the caller has checked that this is the
appliance image; checking a file runs in a private, empty namespace.

Reloading in place (issue 13): replacing a table (``table`` + ``delete table`` + definition)
throws its named counters away. Instead, one ``nft -f`` transaction does ``flush table``
(every rule goes), ``delete`` of each chain, set or object the new ruleset does not keep, then
the definition. nft only adds what is missing, so named counters that exist already are left
as they are: not one packet is lost or counted twice, and it is still one atomic transaction.
What the table holds comes in as data (``RunningTable``, from ``read_table``), so rendering
the update stays pure.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from appliance.platform import netns as labns
from appliance.platform import shipped


class NftError(RuntimeError):
    """nft refused a ruleset or a command; the message is nft's own."""


def nft_binary() -> str:
    """Path of the nft program (Debian package nftables)."""
    path = shipped.program("nft")
    if path is None:
        raise NftError("nft is missing: install the Debian package nftables")
    return path


def in_netns(netns: str | None, argv: list[str]) -> list[str]:
    """``argv`` to run in ``netns`` (None: here); ``NftError`` if the namespace is missing."""
    if netns and not labns.exists(netns):  # else "table absent" and "no namespace" look alike
        raise NftError(f"network namespace {netns} does not exist")
    return labns.command(netns, argv) if netns else argv


def run(netns: str | None, args: list[str],
        timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``nft args`` in ``netns``; the finished process (not checked: callers read the code)."""
    return subprocess.run(in_netns(netns, shipped.wrap([nft_binary(), *args])), capture_output=True,
                          text=True, timeout=timeout, check=False)


# Who reads tables, counters and sets for a process that may not (the web UI as ixp-web has
# no CAP_NET_ADMIN): the front end sets a reader that asks the apply helper. Same arguments
# (the nft words after the binary), same finished process.
Reader = Callable[[str | None, list[str]], subprocess.CompletedProcess[str]]
_reader: Reader | None = None


def use_reader(reader: Reader | None) -> None:
    """Read tables, counters and sets through ``reader`` (None: run nft here)."""
    global _reader
    _reader = reader


def read(netns: str | None, args: list[str]) -> subprocess.CompletedProcess[str]:
    """A read-only ``nft list ...``: here, or through the reader set by ``use_reader``."""
    return _reader(netns, args) if _reader is not None else run(netns, args)


def _message(proc: subprocess.CompletedProcess[str]) -> str:
    return (proc.stderr or proc.stdout).strip()


def check_file(path: Path) -> None:
    """``nft -c -f path`` in a private, empty network namespace; raise ``NftError`` if refused.

    ``unshare -n`` gives the check a namespace of its own that disappears with the process, so
    even a check can never touch a real ruleset; without root, a user namespace does the same.
    """
    unshare = ["unshare", "--net"] if os.geteuid() == 0 else ["unshare", "--net",
                                                              "--map-root-user"]
    proc = subprocess.run([*unshare, *shipped.wrap([nft_binary(), "-c", "-f", str(path)])],
                          capture_output=True,
                          text=True, timeout=60, check=False)
    if proc.returncode != 0:
        raise NftError(f"nft -c refused {path.name}: {_message(proc)}")


def load_file(netns: str | None, path: Path) -> None:
    """``nft -f path`` in ``netns`` (one transaction: all of it or nothing)."""
    proc = run(netns, ["-f", str(path)])
    if proc.returncode != 0:
        raise NftError(f"nft -f {path} failed: {_message(proc)}")


def list_table(netns: str | None, family: str, table: str) -> str | None:
    """``nft list table family table`` in ``netns``; None when the table is not loaded."""
    proc = read(netns, ["list", "table", family, table])
    return proc.stdout if proc.returncode == 0 else None


@dataclass(frozen=True, slots=True)
class Counter:
    """One named counter of a table (``nft list counters``)."""

    name: str
    comment: str
    packets: int
    bytes: int


def parse_counters(text: str) -> list[Counter]:
    """The counters of ``nft list counters`` output, in its order.

    The text form, not ``-j``: with 1000 member ports the JSON of their 18 000 counters
    parsed into some 17 MB of dicts at every alert round (issue 14); this keeps one small
    record per counter. nft allows no double quote inside a name or comment.
    """
    out: list[Counter] = []
    name: str | None = None
    comment = ""
    for line in io.StringIO(text):
        words = line.strip()
        if words.startswith("counter ") and words.endswith("{"):
            name, comment = words[len("counter "):-1].strip().strip('"'), ""
        elif name is None:
            continue  # the table's own lines (its comment, braces)
        elif words.startswith("comment "):
            comment = words[len("comment "):].strip().strip('"')
        elif words.startswith("packets "):
            parts = words.split()  # packets N bytes M
            out.append(Counter(name, comment, int(parts[1]), int(parts[3])))
            name = None
    return out


def list_counters(netns: str | None, family: str, table: str) -> list[Counter]:
    """The named counters of the table; empty if the table is absent."""
    proc = read(netns, ["list", "counters", "table", family, table])
    if proc.returncode != 0:
        return []
    return parse_counters(proc.stdout or "")


def set_elements(netns: str | None, family: str, table: str, name: str) -> list[dict[str, Any]]:
    """The elements of a set (nft's JSON: ``{"elem": {"val": ..., "counter": ...}}`` or the
    bare value); empty if the set or the table is absent."""
    proc = read(netns, ["-j", "list", "set", family, table, name])
    if proc.returncode != 0:
        return []
    for item in json.loads(proc.stdout or "{}").get("nftables", []):
        if "set" in item:
            return list(item["set"].get("elem") or [])
    return []


# nft JSON object kinds we can delete by handle -> the word ``delete`` needs (a map is a set).
DELETABLE = {"chain": "chain", "set": "set", "map": "set", "counter": "counter",
             "quota": "quota", "limit": "limit"}


@dataclass(frozen=True)
class RunningObject:
    """One chain, set or stateful object in a loaded table (from ``nft -j list table``)."""

    kind: str  # nft's JSON key: chain, set, map, counter, quota, limit, ...
    name: str
    handle: int
    comment: str = ""


@dataclass(frozen=True)
class RunningTable:
    """What a table holds now: read just before an apply, rendered against (pure)."""

    objects: tuple[RunningObject, ...] = ()
    # The table's own comment: an update cannot change it (nft keeps the old one).
    comment: str = ""

    @property
    def updatable(self) -> bool:
        """Whether every object is of a kind an in-place update can remove if it must."""
        return all(o.kind in DELETABLE for o in self.objects)


# ``nft list table`` prints a table's comment as the first line of its body.
_TABLE_COMMENT_RE = re.compile(r'table \S+ \S+ \{\n[ \t]*comment "((?:[^"\\]|\\.)*)"')


def read_table(netns: str | None, family: str, table: str) -> RunningTable | None:
    """What the table holds now (chains, sets, named objects), or None if it is not loaded."""
    proc = run(netns, ["-j", "list", "table", family, table])
    if proc.returncode != 0:
        return None
    objects = []
    comment = ""
    for item in json.loads(proc.stdout or "{}").get("nftables", []):
        for kind, body in item.items():
            if kind == "table":
                comment = str(body.get("comment", ""))
            if kind in ("metainfo", "table", "rule"):  # rules go with ``flush table``
                continue
            objects.append(RunningObject(kind, str(body.get("name", "")),
                                         int(body.get("handle", -1)),
                                         str(body.get("comment", ""))))
    if not comment:  # nft's JSON leaves a table's comment out (1.0.6): read the listing
        listing = list_table(netns, family, table) or ""
        m = _TABLE_COMMENT_RE.match(listing)
        comment = m.group(1) if m else ""
    return RunningTable(tuple(objects), comment)


def update_head(family: str, table: str, running: RunningTable, *, chains: Collection[str],
                counters: Mapping[str, str], sets: Collection[str] = ()) -> list[str]:
    """The lines that empty a loaded table of everything but what the new ruleset keeps.

    ``chains``: the chains the new definition declares (kept: nft re-declares them; a base
    chain whose hook or priority differs makes nft refuse the whole update). ``counters``:
    name -> comment of the new definition's named counters; one stays only if it still
    counts the same thing (same name *and* comment). ``sets``: sets the packet path fills
    (dynamic, with a counter per element) whose elements must survive, as named counters do.
    Everything else goes, the other sets included: re-declaring a set would add to its old
    elements instead of replacing them.
    """
    if not running.updatable:
        raise ValueError("the loaded table holds objects an update cannot remove; replace it")
    out = [f"flush table {family} {table}"]
    for o in running.objects:
        if o.kind == "chain" and o.name in chains:
            continue
        if o.kind == "counter" and counters.get(o.name) == o.comment:
            continue
        if o.kind == "set" and o.name in sets:
            continue
        # By handle: names of objects we did not make may not be valid nft words.
        out.append(f"delete {DELETABLE[o.kind]} {family} {table} handle {o.handle}"
                   f"  # {o.kind} {o.name}: not in the new ruleset")
    return out


def load_keeping_counters(netns: str | None, *, running: RunningTable | None,
                          update_text: str | None, update_path: Path, full_path: Path,
                          log: Callable[[str], None], what: str, name: str) -> bool:
    """Load a ruleset into ``netns``: in place when there is an update, else replacing.

    ``running`` is what the table held (None: not loaded); ``update_text`` the in-place file
    rendered against it, or None when it cannot be updated in place. The update is written to
    ``update_path`` (what is loaded, for the operator to read); ``full_path`` is the file that
    replaces the table. When nft refuses the update (e.g. a base chain someone changed by
    hand) nothing of it was applied, and the full replace follows, logged. ``what`` (the
    concern) and ``name`` (the file, as the operator knows it) are for the log lines. Returns
    whether the update was in place.
    """
    if running is not None and update_text is not None:
        update_path.parent.mkdir(parents=True, exist_ok=True)
        update_path.write_text(update_text, encoding="utf-8")
        try:
            load_file(netns, update_path)
            log(f"{what}: loaded {name} in place (drop counters kept)")
            return True
        except NftError as exc:
            log(f"{what}: cannot update the ruleset in place ({exc}); replacing it")
    load_file(netns, full_path)
    log(f"{what}: loaded {name}" + ("" if running is None else
                                    " (drop counters restart from 0)"))
    return False
