"""Running ``nft`` for the hygiene ruleset: check in a throw-away namespace, load and list in
the appliance's namespace. Never the host's ruleset unless on the appliance image.

The nft logic itself is shared with the management firewall (``appliance.platform.nft``); this
module binds it to the hygiene table.
"""

from __future__ import annotations

from typing import Any

# the names from the light modules: the collector's alert round reads the counters through here
from appliance.bridge.matrix import FAMILY, TABLE
from appliance.platform import nft as _nft
from appliance.platform.nft import NftError, RunningTable, check_file, load_file, nft_binary
from appliance.platform.target import Target

__all__ = ["NftError", "check_file", "list_counters", "load_file", "nft_binary", "read_table",
           "set_elements", "table_loaded"]


def table_loaded(target: Target) -> bool:
    """Whether our table exists in ``target``'s namespace."""
    return _nft.list_table(target.netns, FAMILY, TABLE) is not None


def list_counters(target: Target) -> list[_nft.Counter]:
    """The named counters of our table; empty if the table is absent."""
    return _nft.list_counters(target.netns, FAMILY, TABLE)


def set_elements(target: Target, name: str) -> list[dict[str, Any]]:
    """The elements of one of our sets (the traffic matrix's), with their counters."""
    return _nft.set_elements(target.netns, FAMILY, TABLE, name)


def read_table(target: Target) -> RunningTable | None:
    """What our table holds now (chains, sets, named objects), or None if it is not loaded."""
    return _nft.read_table(target.netns, FAMILY, TABLE)
