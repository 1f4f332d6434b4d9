"""Running ``nft`` for the management-plane table: load, inspect, remove, list counters.

Always inside the given namespace (the lab's appliance namespace), or on the host only when
the caller has checked that this is the appliance image (``ApplyContext`` does). Checking a
file uses the bridge module's ``check_file``, which runs in a private, empty namespace.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

from appliance.bridge.nft import NftError, check_file, load_file, nft_binary
from appliance.firewall.render import FAMILY, TABLE
from appliance.lab import netns as labns

__all__ = ["NftError", "check_file", "delete_table", "list_counters", "list_table",
           "load_file", "table_loaded"]


def _argv(netns: str | None, args: list[str]) -> list[str]:
    if netns and not labns.exists(netns):  # else "table absent" and "no namespace" look alike
        raise NftError(f"network namespace {netns} does not exist")
    argv = [nft_binary(), *args]
    return labns.command(netns, argv) if netns else argv


def _run(netns: str | None, args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_argv(netns, args), capture_output=True, text=True, timeout=60,
                          check=False)


def list_table(netns: str | None) -> str | None:
    """``nft list table inet ixp_mgmt`` in ``netns``; None when the table is not loaded."""
    proc = _run(netns, ["list", "table", FAMILY, TABLE])
    return proc.stdout if proc.returncode == 0 else None


def table_loaded(netns: str | None) -> bool:
    """Whether our table exists in ``netns``."""
    return list_table(netns) is not None


def delete_table(netns: str | None) -> bool:
    """Remove our table if it is loaded; returns whether it was. Other tables stay."""
    if not table_loaded(netns):
        return False
    proc = _run(netns, ["delete", "table", FAMILY, TABLE])
    if proc.returncode != 0:
        raise NftError(f"nft delete table {FAMILY} {TABLE} failed: "
                       f"{(proc.stderr or proc.stdout).strip()}")
    return True


def list_counters(netns: str | None) -> list[dict[str, Any]]:
    """The named counters of our table (nft's JSON objects); empty if the table is absent."""
    proc = _run(netns, ["-j", "list", "counters", "table", FAMILY, TABLE])
    if proc.returncode != 0:
        return []
    data = json.loads(proc.stdout or "{}")
    return [item["counter"] for item in data.get("nftables", []) if "counter" in item]
