"""The BGP data the agent serves, whatever source it comes from (``bgp_source.BirdSource``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

BGP_STATES = ("idle", "connect", "active", "opensent", "openconfirm", "established")


@dataclass(frozen=True)
class BgpPeer:
    """One BGP session of the route server, as the MIBs need it."""

    name: str
    remote_address: str
    remote_as: int
    state: str  # one of BGP_STATES
    admin_up: bool
    local_address: str | None = None
    local_as: int | None = None
    remote_id: str | None = None
    description: str = ""
    in_updates: int = 0  # route updates + withdrawals received (BIRD counts routes)
    out_updates: int = 0  # route updates + withdrawals sent
    since: datetime | None = None  # last state change (BIRD's "Since")
    hold_time: int = 0  # negotiated, seconds
    keepalive: int = 0
    last_error: str = ""


@dataclass(frozen=True)
class BgpSnapshot:
    """The route server's identity and its sessions."""

    local_as: int | None = None
    router_id: str | None = None
    peers: list[BgpPeer] = field(default_factory=list)


BgpSource = Callable[[], BgpSnapshot]
