"""Hygiene drop statistics per port and reason, for the UI, SNMP and metrics."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from appliance.bridge import nft
from appliance.bridge.render import REASONS, TAG_BYTES, TAGGED


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


def read_drops(netns: str | None) -> list[DropCount]:
    """Every hygiene counter in ``netns``, by port then reason (empty if none loaded).

    A configuration change that alters the ruleset keeps the counters (it is loaded in place,
    see ``hygiene``). A counter starts from zero when it is new: a new port, a port put into
    quarantine (its two quarantine counters), a port that left and came back, and after a
    reboot. Consumers computing rates should still treat a decrease as a reset.
    """
    counters = nft.list_counters(netns)
    tagged: dict[tuple[str, str], int] = {}
    for c in counters:
        tag_key = parse_tag_comment(c.get("comment", ""))
        if tag_key is not None:
            tagged[tag_key] = tagged.get(tag_key, 0) + int(c.get("packets", 0))
    out: list[DropCount] = []
    for c in counters:
        key = parse_comment(c.get("comment", ""))
        if key is not None:
            extra = TAG_BYTES * tagged.get(key, 0)  # the tags nft did not count
            out.append(DropCount(key[0], key[1], int(c.get("packets", 0)),
                                 int(c.get("bytes", 0)) + extra))
    return sorted(out, key=lambda d: (d.port, list(REASONS).index(d.reason)
                                      if d.reason in REASONS else 99))


def drops_by_port(netns: str | None) -> dict[str, dict[str, int]]:
    """{port: {reason: packets}}: the compact form for metrics and SNMP tables."""
    table: dict[str, dict[str, int]] = {}
    for d in read_drops(netns):
        table.setdefault(d.port, {})[d.reason] = d.packets
    return table
