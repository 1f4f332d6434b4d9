"""The peering LAN's counters for the UI, SNMP and metrics: hygiene drops per port and reason,
and the exact traffic matrix between members."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from appliance.bridge import nft
from appliance.bridge.matrix import read_matrix
from appliance.bridge.reasons import REASONS, TAG_BYTES, TAGGED
from appliance.platform.target import Target

if TYPE_CHECKING:
    from appliance.config.model import IXPConfig


@dataclass(frozen=True)
class DropCount:
    """Frames (and bytes) one port had dropped for one reason since its counter was made.

    ``bytes`` counts from after the 14-byte Ethernet header (what nftables' bridge family
    sees), so it is ``packets * 14`` less than the frames' size on the wire. An 802.1Q tag
    counts (``ethertype``): the kernel keeps it out of the length nft counts, so its 4 bytes
    are added back from the port's hidden ``tagged`` counter.
    """

    port: str
    reason: str
    packets: int
    bytes: int

    @property
    def description(self) -> str:
        """What the reason means, in words."""
        return REASONS.get(self.reason, self.reason)

    def as_dict(self) -> dict[str, object]:
        """JSON form."""
        return {**asdict(self), "description": self.description}


def _fields(comment: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in comment.split() if "=" in part)


def parse_comment(comment: str) -> tuple[str, str] | None:
    """``port=ixp1 reason=src_mac`` -> ("ixp1", "src_mac"); None for other counters."""
    fields = _fields(comment)
    if "port" in fields and "reason" in fields:
        return fields["port"], fields["reason"]
    return None


def parse_tag_comment(comment: str) -> tuple[str, str] | None:
    """``port=ixp1 tagged=ethertype`` (a port's hidden counter of tagged frames) ->
    ("ixp1", "ethertype"): the reason those frames are counted in; None for other counters."""
    fields = _fields(comment)
    if "port" in fields and TAGGED in fields:
        return fields["port"], fields[TAGGED]
    return None


def read_drops(target: Target) -> list[DropCount]:
    """Every hygiene counter in ``target``'s namespace, by port then reason (empty if none loaded).

    A configuration change that alters the ruleset keeps the counters (it is loaded in place,
    see ``hygiene``). A counter starts from zero when it is new: a new port, a port put into
    quarantine (its two quarantine counters), a port that left and came back, and after a
    reboot. Consumers computing rates should still treat a decrease as a reset.
    """
    counters = nft.list_counters(target)
    tagged: dict[tuple[str, str], int] = {}
    for c in counters:
        tag_key = parse_tag_comment(c.comment)
        if tag_key is not None:
            tagged[tag_key] = tagged.get(tag_key, 0) + c.packets
    out: list[DropCount] = []
    for c in counters:
        key = parse_comment(c.comment)
        if key is not None:
            extra = TAG_BYTES * tagged.get(key, 0)  # the tags nft did not count
            out.append(DropCount(key[0], key[1], c.packets, c.bytes + extra))
    return sorted(out, key=lambda d: (d.port, list(REASONS).index(d.reason)
                                      if d.reason in REASONS else 99))


def drops_by_port(target: Target) -> dict[str, dict[str, int]]:
    """{port: {reason: packets}}: the compact form for metrics and SNMP tables."""
    table: dict[str, dict[str, int]] = {}
    for d in read_drops(target):
        table.setdefault(d.port, {})[d.reason] = d.packets
    return table


def member_matrix(cfg: IXPConfig, target: Target) -> list[dict[str, object]]:
    """The traffic matrix by member: who sent how much to whom, per family.

    Pairs of MACs that are no longer members' (a member left, a MAC changed) are left out;
    their counts stay in the kernel until the ruleset is replaced.
    """
    owner: dict[str, tuple[int, str]] = {}
    for m in cfg.members:
        for mac in m.macs:
            owner[mac] = (m.asn, m.name)
    rows: dict[tuple[int, int, str], dict[str, object]] = {}
    for pair in read_matrix(target):
        src, dst = owner.get(pair.src), owner.get(pair.dst)
        if src is None or dst is None or src[0] == dst[0]:
            continue
        key = (src[0], dst[0], pair.family)
        row = rows.setdefault(key, {"from_asn": src[0], "from": src[1], "to_asn": dst[0],
                                    "to": dst[1], "family": pair.family, "packets": 0,
                                    "bytes": 0})
        row["packets"] = int(row["packets"]) + pair.packets  # type: ignore[call-overload]
        row["bytes"] = int(row["bytes"]) + pair.bytes  # type: ignore[call-overload]
    return [rows[k] for k in sorted(rows)]


def box_matrix(cfg: IXPConfig, target: Target) -> list[dict[str, object]]:
    """``member_matrix`` where there is one: empty when the matrix is off, or on a developer
    machine without a lab (its own bridge is not the exchange's)."""
    if not cfg.peering_lan.traffic_matrix or not target.has_system:
        return []
    return member_matrix(cfg, target)

