"""Reading the exact traffic matrix's counters from the kernel, light enough for the resident
collector: this module imports neither the model nor the renderer (issue 14's memory bound;
``appliance.bridge.render`` takes its names from here)."""

from __future__ import annotations

from dataclasses import dataclass

from appliance.platform import nft as _nft
from appliance.platform.target import Target

TABLE = "ixp_hygiene"
FAMILY = "bridge"
MATRIX_SETS = {"ip": "pairs4", "ip6": "pairs6"}


@dataclass(frozen=True)
class PairCount:
    """What one member's MAC sent to another's since the pair was first seen, one family.

    ``bytes`` are the IP packets' (from the IP header on): the Ethernet header (14 bytes), an
    802.1Q tag and the frame check sequence are not counted.
    """

    src: str
    dst: str
    family: str  # "ipv4" or "ipv6"
    packets: int
    bytes: int


def read_matrix(target: Target) -> list[PairCount]:
    """The traffic matrix as the kernel counts it (empty when it is off or not loaded)."""
    out = []
    for fam, name in MATRIX_SETS.items():
        for item in _nft.set_elements(target.netns, FAMILY, TABLE, name):
            elem = item.get("elem") if isinstance(item, dict) else None
            if not isinstance(elem, dict):
                continue
            val, counter = elem.get("val") or {}, elem.get("counter") or {}
            macs = val.get("concat") if isinstance(val, dict) else None
            if not isinstance(macs, list) or len(macs) != 2:
                continue
            out.append(PairCount(str(macs[0]), str(macs[1]), "ipv4" if fam == "ip" else "ipv6",
                                 int(counter.get("packets", 0)), int(counter.get("bytes", 0))))
    return sorted(out, key=lambda p: (p.src, p.dst, p.family))
