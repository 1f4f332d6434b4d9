"""Fetch the PeeringDB data the box uses, when it is online, into the dump file it reads.

Three API queries: the members' networks (max-prefix, AS-SET), every network flagged
``info_never_via_route_servers`` (the leak check needs all of them, not only members), and the
exchange's LAN entries (the member form's addresses). The answer is merged into the dump
already on the box, so an operator's full dump keeps the networks the queries did not ask
about (the member form looks new members up in it).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from typing import Any

from appliance import __version__

USER_AGENT = f"ixp-appliance/{__version__} (route-server data refresh)"
PEERINGDB_API = "https://www.peeringdb.com/api"  # route_server.refresh.peeringdb_url unset


class PeeringDbUnavailable(RuntimeError):
    """PeeringDB could not be reached or answered something that is not its API."""


def _get(url: str, timeout: float) -> list[dict[str, Any]]:
    req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT,
                                               "Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            doc = json.loads(resp.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        raise PeeringDbUnavailable(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise PeeringDbUnavailable(f"{url}: {reason}") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise PeeringDbUnavailable(f"{url}: not JSON ({exc})") from None
    rows = doc.get("data") if isinstance(doc, dict) else None
    if not isinstance(rows, list):
        raise PeeringDbUnavailable(f"{url}: no 'data' list in the answer")
    return [r for r in rows if isinstance(r, dict)]


def fetch(base_url: str, asns: Iterable[int], ix_id: int | None, *,
          timeout: float = 60) -> dict[str, list[dict[str, Any]]]:
    """The fresh rows: ``{"net": [...members' and flagged networks], "netixlan": [...]}``.

    Raises ``PeeringDbUnavailable`` when any query fails: a half answer is never merged.
    """
    base = base_url.rstrip("/")
    wanted = sorted(set(asns))
    nets: dict[int, dict[str, Any]] = {}
    if wanted:
        query = urllib.parse.urlencode({"asn__in": ",".join(map(str, wanted))})
        for row in _get(f"{base}/net?{query}", timeout):
            if isinstance(row.get("asn"), int):
                nets[row["asn"]] = row
    for row in _get(f"{base}/net?info_never_via_route_servers=1", timeout):
        if isinstance(row.get("asn"), int):
            nets.setdefault(row["asn"], row)
    lans: list[dict[str, Any]] = []
    if ix_id is not None:
        lans = _get(f"{base}/netixlan?ix_id={ix_id}", timeout)
    return {"net": [nets[a] for a in sorted(nets)], "netixlan": lans}


def _rows(dump: dict[str, Any], table: str) -> list[dict[str, Any]]:
    section = dump.get(table) or {}
    rows = section.get("data") if isinstance(section, dict) else section
    return [r for r in rows or [] if isinstance(r, dict)]


def merge(old: dict[str, Any] | None, fresh: dict[str, list[dict[str, Any]]],
          asked: Iterable[int], ix_id: int | None) -> dict[str, Any]:
    """The dump after a refresh: ``old`` with the fresh rows in place of theirs.

    The flagged query is complete, so a network of the old dump that is no longer in it has
    lost its flag; the members asked about and absent from the answer have left PeeringDB.
    """
    old = old if isinstance(old, dict) else {}
    asked_set = set(asked)
    fresh_nets = {r["asn"]: r for r in fresh["net"]}
    nets: dict[int, dict[str, Any]] = {}
    for row in _rows(old, "net"):
        asn = row.get("asn")
        if not isinstance(asn, int) or asn in asked_set:
            continue
        if row.get("info_never_via_route_servers") is True and asn not in fresh_nets:
            row = {**row, "info_never_via_route_servers": False}
        nets[asn] = row
    nets.update(fresh_nets)
    lans = _rows(old, "netixlan")
    if ix_id is not None:
        lans = [x for x in lans if x.get("ix_id") != ix_id] + list(fresh["netixlan"])
    out: dict[str, Any] = {k: v for k, v in old.items() if k not in ("net", "netixlan", "meta")}
    out["net"] = {"data": [nets[a] for a in sorted(nets)]}
    out["netixlan"] = {"data": lans}
    return out


def same_data(a: dict[str, Any] | None, b: dict[str, Any]) -> bool:
    """Whether two dumps hold the same rows (their ``meta`` times aside)."""
    def strip(d: dict[str, Any] | None) -> Any:
        return {k: v for k, v in (d or {}).items() if k != "meta"}
    return bool(a) and json.dumps(strip(a), sort_keys=True) == json.dumps(strip(b),
                                                                          sort_keys=True)
