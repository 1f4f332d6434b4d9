"""The box's NICs for the wizard and the member form (read-only; from the bridge inventory)."""

from __future__ import annotations

from typing import Any

from appliance.bridge.inventory import classify, collect
from appliance.config.model import IXPConfig
from appliance.platform.target import Target


def nic_rows(target: Target, cfg: IXPConfig | None) -> list[dict[str, Any]]:
    """Every NIC with MAC, driver, link, speed and role; empty where the box has no network of
    its own to show (a developer machine without a lab)."""
    if not target.has_system:
        return []
    try:
        nics = collect(target)
    except (OSError, RuntimeError, ValueError):
        return []
    if cfg is not None:
        nics = classify(nics, cfg)
    return [n.as_dict() for n in nics if n.name != "lo"]


def free_nics(rows: list[dict[str, Any]]) -> list[str]:
    """Names of NICs no member, management or bridge uses."""
    return [r["name"] for r in rows if r.get("role") == "free" and r.get("kind") in (None, "veth")]
