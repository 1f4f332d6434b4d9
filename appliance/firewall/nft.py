"""Running ``nft`` for the management-plane table: load, inspect, remove, list counters.

Always inside the given namespace (the lab's appliance namespace), or on the host only when
the caller has checked that this is the appliance image (``ApplyContext`` does). The nft logic
is shared with the bridge hygiene table (``appliance.platform.nft``); this module binds it to
``inet ixp_mgmt``. Checking a file runs in a private, empty namespace.
"""

from __future__ import annotations

from typing import Any

from appliance.firewall.render import FAMILY, TABLE
from appliance.platform import nft as _nft
from appliance.platform.nft import NftError, RunningTable, check_file, load_file, nft_binary

__all__ = ["NftError", "check_file", "delete_table", "list_counters", "list_table",
           "load_file", "nft_binary", "read_table", "table_loaded"]


def list_table(netns: str | None) -> str | None:
    """``nft list table inet ixp_mgmt`` in ``netns``; None when the table is not loaded."""
    return _nft.list_table(netns, FAMILY, TABLE)


def table_loaded(netns: str | None) -> bool:
    """Whether our table exists in ``netns``."""
    return list_table(netns) is not None


def delete_table(netns: str | None) -> bool:
    """Remove our table if it is loaded; returns whether it was. Other tables stay."""
    if not table_loaded(netns):
        return False
    proc = _nft.run(netns, ["delete", "table", FAMILY, TABLE])
    if proc.returncode != 0:
        raise NftError(f"nft delete table {FAMILY} {TABLE} failed: "
                       f"{(proc.stderr or proc.stdout).strip()}")
    return True


def list_counters(netns: str | None) -> list[dict[str, Any]]:
    """The named counters of our table (nft's JSON objects); empty if the table is absent."""
    return _nft.list_counters(netns, FAMILY, TABLE)


def read_table(netns: str | None) -> RunningTable | None:
    """What our table holds now (chains, sets, named objects), or None if it is not loaded."""
    return _nft.read_table(netns, FAMILY, TABLE)
