"""Alice-LG's birdwatcher client, as the tests replay it against the box.

Written from Alice-LG's pkg/sources/birdwatcher (source.go, source_singletable.go,
source_multitable.go, parsers.go, stream_decoder.go; github alice-lg/alice-lg, 2025) and
pkg/config (how a source section is read), not copied: the calls each source type makes, in
order, and what its parsers require of each answer. Where Alice's Go code asserts a type
(``x.(string)``, ``x.(float64)``) a wrong shape makes Alice panic or fail; ``shape`` checks
these, and the time layouts Alice parses with, so a test fails where Alice would.

The documented Alice configuration (docs/operations.md) is read with ``sources_of`` so the
tests run the very settings an operator copies.
"""

from __future__ import annotations

import configparser
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"

# Go time layouts the documented config may use, and Python's reading of each. Alice's
# defaults (pkg/config) are the first and Go's RFC 3339 layouts; an unknown layout fails the
# test rather than being guessed.
LAYOUTS: dict[str, Callable[[str], datetime]] = {
    "2006-01-02T15:04:05.999999999Z07:00": datetime.fromisoformat,
    "2006-01-02T15:04:05Z07:00": datetime.fromisoformat,
    "2006-01-02 15:04:05": lambda s: datetime.strptime(s, "%Y-%m-%d %H:%M:%S"),
}


@dataclass
class Source:
    """One ``[source.<id>.birdwatcher]`` section with Alice's defaults (pkg/config)."""

    id: str
    name: str
    api: str
    type: str
    main_table: str = "master"
    main_table4: str = ""
    main_table6: str = ""
    peer_table_prefix: str = "T"
    pipe_protocol_prefix: str = "M"
    peer_table_only: bool = False
    timezone: str = "UTC"
    servertime: str = "2006-01-02T15:04:05.999999999Z07:00"
    servertime_short: str = "2006-01-02"
    servertime_ext: str = "Mon, 02 Jan 2006 15:04:05 -0700"
    raw: dict[str, str] = field(default_factory=dict)


def ini_blocks(text: str) -> list[str]:
    """The ```ini fenced blocks of a Markdown text."""
    return re.findall(r"```ini\n(.*?)```", text, flags=re.S)


def sources_of(ini_text: str) -> list[Source]:
    """The birdwatcher sources of an Alice config, read as Alice's pkg/config reads them:
    ``[source.<id>]`` with one backend child section, ``type`` single_table or multi_table
    (anything else makes Alice stop at start: "unknown birdwatcher type")."""
    parser = configparser.ConfigParser(interpolation=None, comment_prefixes=("#", ";"),
                                       inline_comment_prefixes=None)
    parser.read_string(ini_text)
    out = []
    for section in parser.sections():
        parts = section.split(".")
        if parts[0] != "source" or len(parts) != 2:
            continue
        children = [s for s in parser.sections() if s.startswith(section + ".")]
        assert len(children) == 1, f"{section}: Alice wants exactly one backend section"
        assert children[0].endswith("birdwatcher"), f"{children[0]}: not a birdwatcher backend"
        b = parser[children[0]]
        kind = b.get("type", "")
        assert kind in ("single_table", "multi_table"), \
            f"{children[0]}: type = {kind!r}; Alice refuses it at start"
        src = Source(id=parts[1], name=parser[section].get("name", "Unknown Source"),
                     api=b["api"], type=kind, raw=dict(b))
        for key in ("main_table", "main_table4", "main_table6", "peer_table_prefix",
                    "pipe_protocol_prefix", "timezone", "servertime", "servertime_short",
                    "servertime_ext"):
            if key in b:
                setattr(src, key, b[key])
        src.peer_table_only = b.get("peer_table_only", "false").lower() == "true"
        for layout in (src.servertime, src.servertime_short, src.servertime_ext):
            assert layout in LAYOUTS, f"{src.id}: the tests do not know Go layout {layout!r}"
        out.append(src)
    return out


def documented_sources() -> list[Source]:
    """Every Alice source documented in docs/operations.md."""
    found = [s for block in ini_blocks(DOCS.read_text()) for s in sources_of(block)]
    assert found, "docs/operations.md documents no Alice-LG source"
    return found


class AliceError(Exception):
    """What Alice would report (or crash on) for an answer."""


def _time(value: Any, layout: str) -> datetime | None:
    # parseServerTime: a non-string is "no time" (zero), a string must parse
    if not isinstance(value, str):
        return None
    try:
        return LAYOUTS[layout](value)
    except ValueError as exc:
        raise AliceError(f"parsing time {value!r} as {layout!r}: {exc}") from None


def _need(cond: bool, what: str) -> None:
    if not cond:
        raise AliceError(what)


def api_status(body: dict[str, Any], src: Source) -> None:
    """parseAPIStatus: "api" with Version (string) and result_from_cache (bool), "ttl" in
    servertime; no "api": Alice reports "bird error: <error>"."""
    api = body.get("api")
    if not isinstance(api, dict):
        err = body.get("error")
        raise AliceError(f"bird error: {err}" if isinstance(err, str)
                         else "invalid API response received from server")
    _need(isinstance(api.get("Version"), str), "api.Version is not a string (panic)")
    _need(isinstance(api.get("result_from_cache"), bool), "api.result_from_cache (panic)")
    _time(body.get("ttl"), src.servertime)
    cached_at = api.get("cache_status", {}).get("cached_at", {})
    _time(cached_at.get("date"), src.servertime)


def routes_stream(body: dict[str, Any], src: Source) -> list[dict[str, Any]]:
    """parseRoutesResponseStream: it reads only "api", "ttl" and "routes", in any order; an
    answer with none of them is an empty list, silently. Each route as parseRouteData."""
    if "api" in body:
        _need(isinstance(body["api"], dict), "api is not an object")
        _need(isinstance(body["api"].get("Version"), str), "api.Version (panic)")
        _need(isinstance(body["api"].get("result_from_cache"), bool),
              "api.result_from_cache (panic)")
    if "ttl" in body:
        _need(isinstance(body["ttl"], str), "ttl is not a string")
        _time(body["ttl"], src.servertime)
    routes = body.get("routes", [])
    _need(isinstance(routes, list), "routes is not a list")
    return [route(r, src) for r in routes]


def route(r: dict[str, Any], src: Source) -> dict[str, Any]:
    """One route as Alice reads it (the fields birdwatcher gives, with their types)."""
    for key in ("network", "gateway", "interface", "from_protocol", "age"):
        _need(isinstance(r.get(key), str), f"route {key} is not a string: {r.get(key)!r}")
    _need(isinstance(r.get("metric"), int), "route metric")
    _need(isinstance(r.get("primary"), bool), "route primary")
    _need(isinstance(r.get("type"), list) and all(isinstance(t, str) for t in r["type"]),
          "route type")
    age = _time(r["age"], src.servertime_short)
    _need(age is not None, f"route {r['network']} has no age")
    bgp = r.get("bgp")
    _need(isinstance(bgp, dict), "route bgp")
    _need(all(isinstance(a, str) and a.isdigit() for a in bgp["as_path"]), "as_path")
    for key, width in (("communities", 2), ("large_communities", 3)):
        _need(all(isinstance(c, list) and len(c) == width and all(isinstance(x, int) for x in c)
                  for c in bgp.get(key, [])), key)
    _need(all(isinstance(c, list) and len(c) == 3 for c in bgp.get("ext_communities", [])),
          "ext_communities")
    for key in ("local_pref", "med"):
        _need(isinstance(bgp.get(key, ""), str), f"bgp {key} is not a string")
    learnt = r.get("learnt_from") or r["gateway"]
    return {**r, "learnt_from": learnt, "age_parsed": age}


def neighbors(body: dict[str, Any], src: Source) -> dict[str, dict[str, Any]]:
    """parseNeighbors: every protocol of "protocols" (a map), with "routes" counts."""
    protos = body.get("protocols")
    _need(isinstance(protos, dict), "protocols is not a map (panic)")
    out = {}
    for pid, p in protos.items():
        routes = p.get("routes")
        _need(isinstance(routes, dict), f"{pid}: routes is not a map (panic)")
        for key in ("imported", "filtered"):
            _need(isinstance(routes.get(key, 0), int), f"{pid}: routes.{key} (panic)")
        _need(isinstance(p.get("neighbor_address"), str), f"{pid}: neighbor_address")
        _need(isinstance(p.get("neighbor_as"), int), f"{pid}: neighbor_as")
        _need(_time(p.get("state_changed"), src.servertime_short) is not None,
              f"{pid}: state_changed")
        out[pid] = {"id": pid, "address": p["neighbor_address"], "asn": p["neighbor_as"],
                    "state": str(p.get("state", "unknown")).lower(),
                    "description": p.get("description", "no description"),
                    "accepted": routes.get("imported", 0), "filtered": routes.get("filtered", 0),
                    "table": p.get("table"), "raw": p}
    return out


def _dedup(received: list[dict[str, Any]], filtered: list[dict[str, Any]]
           ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    # filterRoutesByPeerOrLearntFrom, then filterRoutesByDuplicates
    if not received:
        return [], filtered
    peer, learnt = received[0]["gateway"], received[0]["learnt_from"]
    filtered = [r for r in filtered if r["gateway"] in (peer, learnt) or r["learnt_from"] == peer]
    gone = {r["network"] for r in filtered}
    return [r for r in received if r["network"] not in gone], filtered


class Alice:
    """One source, replayed: ``get(path)`` returns (status, JSON body) from the box; every
    path asked is recorded in ``calls``, in order."""

    def __init__(self, src: Source, get: Callable[[str], tuple[int, Any]]) -> None:
        self.src, self._get, self.calls = src, get, []  # type: list[str]

    def get(self, path: str) -> dict[str, Any]:
        """One GET, recorded; the body must be JSON (Alice decodes every answer)."""
        self.calls.append(path)
        status, body = self._get(path)
        if not isinstance(body, dict):
            raise AliceError(f"{path}: answer is not JSON ({status})")
        return body

    # ---- both types ----------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Status: /status, its times in servertime_short / servertime_ext."""
        body = self.get("/status")
        api_status(body, self.src)
        st = body["status"]
        _time(st.get("current_server"), self.src.servertime_short)
        _time(st.get("last_reboot"), self.src.servertime_short)
        _time(st.get("last_reconfig"), self.src.servertime_ext)
        return st

    def neighbors_status(self) -> dict[str, str]:
        """NeighborsStatus: /protocols/short?uncached=true (part of every Alice source; older
        Alice versions called it with enable_neighbors_status_refresh)."""
        body = self.get("/protocols/short?uncached=true")
        api_status(body, self.src)
        _need("protocols" in body, "failed to fetch protocols")
        out = {}
        for pid, p in body["protocols"].items():
            _need(_time(p.get("since"), self.src.servertime_short) is not None,
                  f"{pid}: since")
            out[pid] = p["state"]
        return out

    def neighbors(self) -> dict[str, dict[str, Any]]:
        """Neighbors: single_table reads /protocols/bgp; multi_table /protocols and corrects
        the filtered counts by what each member table's pipe kept back."""
        if self.src.type == "single_table" or self.src.peer_table_only:
            body = self.get("/protocols/bgp")
            api_status(body, self.src)
            return neighbors(body, self.src)
        body = self.get("/protocols")
        api_status(body, self.src)
        _need("protocols" in body, "failed to fetch protocols")
        bgp = {k: v for k, v in body["protocols"].items() if v.get("bird_protocol") == "BGP"}
        pipes = {k: v for k, v in body["protocols"].items() if v.get("bird_protocol") == "Pipe"}
        result = neighbors({"protocols": bgp}, self.src)
        tree: dict[str, dict[str, dict[str, Any]]] = {}
        for p in bgp.values():
            _need(isinstance(p.get("table"), str), f"{p['protocol']}: table (panic)")
            tree.setdefault(p["table"], {})[p["neighbor_address"]] = p
        extra: dict[str, int] = {}
        for peers in tree.values():
            total = piped = 0
            for p in peers.values():
                if p["state"].lower() != "up":
                    continue
                total += p["routes"]["imported"]
                pipe = self.master_pipe(p["table"])
                if pipe in pipes and "imported" in pipes[pipe]["routes"]:
                    piped = pipes[pipe]["routes"]["imported"]
            if total == 0 or piped == total:
                continue
            if len(peers) == 1:
                extra[next(iter(peers.values()))["protocol"]] = total - piped
            elif piped == 0:
                for p in peers.values():
                    if p["state"].lower() == "up":
                        extra[p["protocol"]] = p["routes"]["imported"]
            else:
                for addr, p in peers.items():
                    pipe = self.master_pipe(p["table"])
                    count = self.get(f"/routes/pipe/filtered/count?table={p['table']}"
                                     f"&pipe={pipe}&address={addr}")
                    if "routes" in count:
                        extra[p["protocol"]] = count["routes"]
        for pid, n in extra.items():
            result[pid]["accepted"] -= n
            result[pid]["filtered"] += n
        return result

    def master_pipe(self, table: str) -> str:
        """getMasterPipeName: peer table prefix swapped for the pipe prefix; "" otherwise."""
        prefix = self.src.peer_table_prefix
        return self.src.pipe_protocol_prefix + table[len(prefix):] \
            if table.startswith(prefix) else ""

    # ---- one neighbour's routes ----------------------------------------------------------

    def routes(self, neighbor_id: str) -> dict[str, list[dict[str, Any]]]:
        """Routes: received and filtered (deduplicated as Alice does), and not exported."""
        if self.src.type == "single_table":
            received = routes_stream(self.get(f"/routes/protocol/{neighbor_id}"), self.src)
            filtered = routes_stream(self.get(f"/routes/filtered/{neighbor_id}"), self.src)
            imported, filtered = _dedup(received, filtered)
            noexport = routes_stream(self.get(f"/routes/noexport/{neighbor_id}"), self.src)
            return {"imported": imported, "filtered": filtered, "not_exported": noexport}
        protocols = self.get("/protocols")["protocols"]
        _need(neighbor_id in protocols, "invalid Neighbor")
        imported, filtered = _dedup(self._received(protocols, neighbor_id),
                                    self._filtered(protocols, neighbor_id))
        protocols = self.get("/protocols")["protocols"]  # fetchNotExportedRoutes asks again
        pipe = self.master_pipe(protocols[neighbor_id]["table"])
        noexport = routes_stream(self.get(f"/routes/noexport/{pipe}"), self.src)
        return {"imported": imported, "filtered": filtered, "not_exported": noexport}

    def _received(self, protocols: dict[str, Any], pid: str) -> list[dict[str, Any]]:
        peer, table = protocols[pid]["neighbor_address"], protocols[pid]["table"]
        path = f"/routes/table/{table}/peer/{peer}" if self.src.peer_table_only \
            else f"/routes/peer/{peer}"
        return routes_stream(self.get(path), self.src)

    def _filtered(self, protocols: dict[str, Any], pid: str) -> list[dict[str, Any]]:
        if self.src.peer_table_only:
            return []
        out = routes_stream(self.get(f"/routes/filtered/{pid}"), self.src)
        table = protocols[pid]["table"]
        pipe = self.master_pipe(table)
        if pipe:
            out += routes_stream(self.get(f"/routes/pipe/filtered?table={table}&pipe={pipe}"),
                                 self.src)
        return out

    # ---- the global prefix search's route dump -------------------------------------------

    def all_routes(self) -> dict[str, list[dict[str, Any]]]:
        """AllRoutes, which Alice's store loads every few minutes for the prefix search."""
        if self.src.type == "single_table":
            tables = [self.src.main_table4, self.src.main_table6] \
                if self.src.main_table4 and self.src.main_table6 else [self.src.main_table]
            imported: list[dict[str, Any]] = []
            filtered: list[dict[str, Any]] = []
            for t in tables:
                imported += routes_stream(self.get(f"/routes/table/{t}"), self.src)
                filtered += routes_stream(self.get(f"/routes/table/{t}/filtered"), self.src)
            return {"imported": imported, "filtered": filtered}
        protocols = self.get("/protocols")["protocols"]
        if self.src.peer_table_only:
            return {"imported": [r for pid in sorted(protocols)
                                 if protocols[pid]["bird_protocol"] == "BGP"
                                 for r in self._received(protocols, pid)], "filtered": []}
        imported = routes_stream(self.get(f"/routes/table/{self.src.main_table}"), self.src)
        filtered = []
        for pid in sorted(protocols):  # Alice's workers take them in map order
            p = protocols[pid]
            if p["bird_protocol"] != "BGP":
                continue
            learnt = p.get("learnt_from") or p["neighbor_address"]
            filtered += [r for r in self._filtered(protocols, pid)
                         if r["gateway"] in (p["neighbor_address"], learnt)
                         or r["learnt_from"] == p["neighbor_address"]]
        return {"imported": imported, "filtered": filtered}
