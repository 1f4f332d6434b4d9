"""Where BGP4-MIB data comes from: a small interface, and a provisional birdc-based source.

``BgpSource`` is any callable returning a ``BgpSnapshot``. The lead can swap in the shared BIRD
control client by writing an adapter with the same shape; nothing else in the agent changes.
"""

from __future__ import annotations

import logging
import subprocess

from appliance.snmp.bgp_model import BgpPeer, BgpSnapshot, BgpSource
from appliance.snmp.birdc_parse import parse_show_protocols_all

log = logging.getLogger(__name__)

__all__ = ["BgpPeer", "BgpSnapshot", "BgpSource", "BirdcSource"]


class BirdcSource:
    """Runs ``birdc -s <socket> show protocols all`` and parses the BGP sessions."""

    def __init__(self, socket_path: str, local_as: int | None, router_id: str | None,
                 birdc: str = "birdc", timeout: float = 5.0) -> None:
        self.socket_path = socket_path
        self.local_as = local_as
        self.router_id = router_id
        self.birdc = birdc
        self.timeout = timeout
        self._warned = False

    def __call__(self) -> BgpSnapshot:
        """The current sessions; none (and one log line) while BIRD cannot be asked."""
        try:
            out = subprocess.run([self.birdc, "-s", self.socket_path, "show", "protocols",
                                  "all"], capture_output=True, timeout=self.timeout,
                                 check=True).stdout
            # BIRD passes description bytes through as written (UTF-8): never the locale's
            # codec, and one odd byte must not cost every session.
            out = out.decode("utf-8", "replace")
        except (OSError, subprocess.SubprocessError) as exc:
            if not self._warned:
                log.warning("cannot read BGP sessions from BIRD (%s): %s", self.socket_path, exc)
                self._warned = True
            return BgpSnapshot(self.local_as, self.router_id, [])
        self._warned = False
        return BgpSnapshot(self.local_as, self.router_id, parse_show_protocols_all(out))
