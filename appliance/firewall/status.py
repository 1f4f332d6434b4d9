"""What the management firewall dropped, per reason, for the operator (CLI, UI, metrics)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from appliance.firewall import nft
from appliance.firewall.render import REASONS
from appliance.platform.target import Target


@dataclass(frozen=True)
class FirewallDrop:
    """Packets (and bytes) dropped for one reason since its counter was made."""

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


def read_drops(target: Target) -> list[FirewallDrop]:
    """Every drop counter of the management firewall in ``target``'s namespace, in
    ``REASONS`` order.

    Empty when the table is not loaded. A configuration change that alters the rules keeps
    the counters (the table is updated in place, see ``render``); they restart from zero when
    the table is loaded anew (first load, after a reboot or removal, or when nft refused the
    in-place update). Consumers computing rates should still treat a decrease as a reset.
    """
    found: dict[str, FirewallDrop] = {}
    for c in nft.list_counters(target):
        if c.comment.startswith("reason="):
            reason = c.comment.removeprefix("reason=")
            found[reason] = FirewallDrop(reason, c.packets, c.bytes)
    order = list(REASONS)
    return sorted(found.values(),
                  key=lambda d: (order.index(d.reason) if d.reason in REASONS else len(order),
                                 d.reason))


def drops_by_reason(target: Target) -> dict[str, int]:
    """{reason: packets}: the compact form for metrics and status lines."""
    return {d.reason: d.packets for d in read_drops(target)}
