"""Running ``nft`` for the management-plane table: load, inspect, remove, list counters.

Always inside the given namespace (the lab's appliance namespace), or on the host only when
the caller has checked that this is the appliance image (``ApplyContext`` does). The nft logic
is shared with the bridge hygiene table (``appliance.platform.nft``); this module binds it to
``inet ixp_mgmt``. Checking a file runs in a private, empty namespace.
"""

from __future__ import annotations

from appliance.firewall.render import FAMILY, TABLE
from appliance.platform import nft as _nft
from appliance.platform.nft import NftError, RunningTable, check_file, load_file, nft_binary
from appliance.platform.target import Target

__all__ = ["NftError", "check_file", "delete_table", "list_counters", "list_table",
           "load_file", "nft_binary", "read_table", "table_loaded"]


def list_table(target: Target) -> str | None:
    """``nft list table inet ixp_mgmt`` in ``target``'s namespace; None when the table is not
    loaded."""
    return _nft.list_table(target.netns, FAMILY, TABLE)


def table_loaded(target: Target) -> bool:
    """Whether our table exists in ``target``'s namespace."""
    return list_table(target) is not None


def delete_table(target: Target) -> bool:
    """Remove our table if it is loaded; returns whether it was. Other tables stay."""
    if not table_loaded(target):
        return False
    proc = _nft.run(target.netns, ["delete", "table", FAMILY, TABLE])
    if proc.returncode != 0:
        raise NftError(f"nft delete table {FAMILY} {TABLE} failed: "
                       f"{(proc.stderr or proc.stdout).strip()}")
    return True


def list_counters(target: Target) -> list[_nft.Counter]:
    """The named counters of our table; empty if the table is absent."""
    return _nft.list_counters(target.netns, FAMILY, TABLE)


def read_table(target: Target) -> RunningTable | None:
    """What our table holds now (chains, sets, named objects), or None if it is not loaded."""
    return _nft.read_table(target.netns, FAMILY, TABLE)
