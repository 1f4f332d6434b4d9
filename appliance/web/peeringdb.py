"""Look members up in a PeeringDB dump file on the box (the box may have no internet).

The file is PeeringDB's API format (``{"net": {"data": [...]}, "netixlan": {"data": [...]}}``),
for example from ``curl https://www.peeringdb.com/api/net`` merged with ``/api/netixlan``, or a
full dump. It is read from ``<state_dir>/peeringdb/peeringdb.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from appliance.route_server import peeringdb as bird_peeringdb


def dump_path(state_dir: Path) -> Path:
    """Where the dump is expected (the file the route server reads too)."""
    return bird_peeringdb.dump_path(state_dir)


def available(state_dir: Path) -> bool:
    """Whether a dump is present."""
    return dump_path(state_dir).is_file()


def _rows(data: dict[str, Any], table: str) -> list[dict[str, Any]]:
    section = data.get(table) or {}
    rows = section.get("data") if isinstance(section, dict) else section
    return [r for r in rows or [] if isinstance(r, dict)]


def lookup(state_dir: Path, asn: int, ix_id: int | None) -> dict[str, Any] | None:
    """Member fields PeeringDB knows for ``asn`` (addresses only for our IX), or None."""
    try:
        data = json.loads(dump_path(state_dir).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    net = next((n for n in _rows(data, "net") if n.get("asn") == asn), None)
    if net is None:
        return None
    found: dict[str, Any] = {"name": net.get("name") or ""}
    if net.get("irr_as_set"):
        found["as_set"] = str(net["irr_as_set"]).split()[0]
    prefixes = {"ipv4": net.get("info_prefixes4"), "ipv6": net.get("info_prefixes6")}
    found["max_prefix"] = {k: int(v) for k, v in prefixes.items() if isinstance(v, int) and v > 0}
    if ix_id is not None:
        lans = [x for x in _rows(data, "netixlan")
                if x.get("ix_id") == ix_id and (x.get("net_id") == net.get("id")
                                                or x.get("asn") == asn)]
        found["ipv4"] = [x["ipaddr4"] for x in lans if x.get("ipaddr4")]
        found["ipv6"] = [x["ipaddr6"] for x in lans if x.get("ipaddr6")]
    return found
