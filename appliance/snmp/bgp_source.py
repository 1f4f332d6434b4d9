"""Where BGP4-MIB data comes from: the route server's BIRD, asked over its control socket.

``BgpSource`` is any callable returning a ``BgpSnapshot``. ``BirdSource`` asks BIRD ``show
protocols all`` with the lean query (``platform.bird.query``: no pexpect, no birdc process)
and reads the sessions from the one parser of BIRD's replies (``platform.bird.replies``).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from appliance.platform.bird import query
from appliance.platform.bird.replies import BirdError, Protocol
from appliance.snmp.bgp_model import BgpPeer, BgpSnapshot, BgpSource

log = logging.getLogger(__name__)

__all__ = ["BgpPeer", "BgpSnapshot", "BgpSource", "BirdSource"]

_STATES = {"down": "idle", "idle": "idle", "connect": "connect", "active": "active",
           "opensent": "opensent", "openconfirm": "openconfirm",
           "established": "established", "close": "idle", "passive": "active"}


def parse_since(text: str, now: datetime | None = None) -> datetime | None:
    """BIRD's time column: ISO ``YYYY-MM-DD HH:MM:SS`` or today's ``HH:MM:SS[.mmm]``."""
    now = now or datetime.now()
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            pass
    for fmt in ("%H:%M:%S", "%H:%M:%S.%f"):
        try:
            t = datetime.strptime(text, fmt).time()
        except ValueError:
            continue
        when = datetime.combine(now.date(), t)
        # BIRD shows only the time for changes within the last day: a time later than now
        # happened yesterday.
        return when - timedelta(days=1) if when > now else when
    return None


def _int(value: str | None, default: int = 0) -> int:
    try:
        return int(str(value).split("/")[-1].split(".")[0])
    except (TypeError, ValueError):
        return default


def peer_of(p: Protocol, now: datetime | None = None) -> BgpPeer:
    """One BGP protocol of ``show protocols all`` as the MIBs need it."""
    d = p.details
    bgp_state = (d.get("BGP state") or p.info).split()
    state = _STATES.get(bgp_state[0].lower(), "idle") if bgp_state else "idle"
    return BgpPeer(
        name=p.name,
        remote_address=d["Neighbor address"].split("%")[0],
        remote_as=_int(d.get("Neighbor AS")),
        state=state,
        admin_up=p.state != "down",
        local_address=d.get("Source address"),
        local_as=_int(d.get("Local AS")) or None,
        remote_id=d.get("Neighbor ID"),
        description=d.get("Description", ""),
        in_updates=sum(c.updates_in for c in p.channels),
        out_updates=sum(c.updates_out for c in p.channels),
        since=parse_since(p.since, now),
        hold_time=_int(d.get("Hold timer")),
        keepalive=_int(d.get("Keepalive timer")),
        last_error=d.get("Last error", ""),
    )


def bgp_peers(protocols: list[Protocol], now: datetime | None = None) -> list[BgpPeer]:
    """The BGP sessions among ``protocols``, in order."""
    return [peer_of(p, now) for p in protocols
            if p.proto == "BGP" and "Neighbor address" in p.details]


class BirdSource:
    """The route server's BGP sessions, asked from BIRD's control socket at every call."""

    def __init__(self, socket_path: str, local_as: int | None, router_id: str | None,
                 timeout: float = 5.0) -> None:
        self.socket_path = socket_path
        self.local_as = local_as
        self.router_id = router_id
        self.timeout = timeout
        self._warned = False

    def __call__(self) -> BgpSnapshot:
        """The current sessions; none (and one log line) while BIRD cannot be asked."""
        try:
            protocols = query.protocols(self.socket_path, timeout=self.timeout, kinds={"BGP"})
        except (OSError, BirdError) as exc:
            if not self._warned:
                log.warning("cannot read BGP sessions from BIRD (%s): %s", self.socket_path, exc)
                self._warned = True
            return BgpSnapshot(self.local_as, self.router_id, [])
        self._warned = False
        return BgpSnapshot(self.local_as, self.router_id, bgp_peers(protocols))
