"""The anycast helper's file, ``etc/anycast/checkers.json``: rendered from the model (pure)
and read back by the helper and the concern's verify step.

The resident helper reads this file, not the whole configuration: the model is imported for
type hints only (issue 14: the model's modules alone are some 22 MiB).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from appliance.config.model import IXPConfig

CHECKERS_FILE = "anycast/checkers.json"  # under the state dir's etc/, for the helper


@dataclass(frozen=True)
class CheckSpec:
    """One prefix's health check, as the helper's file holds it."""

    prefix: str
    server: str  # the resolver address probed
    query_name: str
    timeout: int
    interval: int
    rise: int
    fall: int


def checker_specs(cfg: IXPConfig) -> list[CheckSpec]:
    """One check per ``services.anycast`` prefix, probing the resolver addresses in it (pure).

    A prefix with no resolver address inside probes the resolver's first address instead
    (the prefix still stands for the resolver service). None while the resolver is off.
    """
    res = cfg.services.resolver
    addrs = [*res.ipv4, *res.ipv6]
    if not res.enabled or not addrs:
        return []
    out = []
    for item in cfg.services.anycast:
        inside = [a for a in addrs if a.version == item.prefix.version and a in item.prefix]
        chk = item.check
        out.append(CheckSpec(str(item.prefix), str((inside or addrs)[0]), str(chk.query_name),
                             chk.timeout, chk.interval, chk.rise, chk.fall))
    return out


def render_checkers(cfg: IXPConfig) -> bytes:
    """``etc/anycast/checkers.json``: same model, same bytes."""
    doc = {"version": 1, "checkers": [asdict(s) for s in checker_specs(cfg)]}
    return (json.dumps(doc, indent=1, sort_keys=True) + "\n").encode("utf-8")


def parse_checkers(data: Any) -> list[CheckSpec]:
    """The decoded file as checks; ``ValueError`` naming what is wrong."""
    if not isinstance(data, dict) or data.get("version") != 1:
        raise ValueError('the file must be a JSON object with "version": 1')
    items = data.get("checkers")
    if not isinstance(items, list):
        raise ValueError("checkers must be a list")
    try:
        specs = [CheckSpec(**item) for item in items]
    except TypeError as exc:
        raise ValueError(f"checkers: {exc}") from None
    for s in specs:
        # HealthChecker refuses these too, but only once running: say so at verify instead
        if s.rise < 1 or s.fall < 1 or s.interval <= 0 or s.timeout < 1:
            raise ValueError(f"checkers: {s.prefix}: rise, fall, timeout and interval must be "
                             "positive")
    return specs


def load_checkers(path: Path) -> list[CheckSpec]:
    """Read and check the helper's file (also the concern's verify step)."""
    try:
        return parse_checkers(json.loads(path.read_text("utf-8")))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON: {exc}") from None
