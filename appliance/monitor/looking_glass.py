"""The route server's routes, read through its control socket, for the looking glass.

Every route is given as plain data with its reject reasons and informational tags in words, so
the page and the birdwatcher-compatible API share one reading.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

from appliance.bird.communities import INFO_TAGS, LC_INFO, reject_reasons_of
from appliance.bird.control import BirdControl
from appliance.bird.replies import BirdError, Protocol, Route

BIRD_SOCKET = "run/bird.ctl"
NOT_FOUND = 8001  # BIRD's "Network not found": no route for that prefix in that table


def _routes(bc: BirdControl, **query: Any) -> list[Route]:
    try:
        return bc.routes(**query)
    except BirdError as exc:
        if exc.code == NOT_FOUND:
            return []
        raise


class LookingGlass:
    """Queries against one route server's BIRD."""

    def __init__(self, state_dir: Path, rs_asn: int) -> None:
        self.ctl = Path(state_dir) / BIRD_SOCKET
        self.rs_asn = rs_asn

    def _client(self) -> BirdControl:
        return BirdControl(self.ctl)

    def sessions(self) -> list[Protocol]:
        """The BGP sessions."""
        with self._client() as bc:
            return [p for p in bc.protocols() if p.proto == "BGP"]

    def session(self, name: str) -> Protocol | None:
        """One BGP session by name (only names BIRD itself reports are ever queried)."""
        return next((p for p in self.sessions() if p.name == name), None)

    def routes_of(self, session: Protocol, *, filtered: bool) -> list[dict[str, Any]]:
        """What a member sent: accepted, or filtered with the reasons."""
        out: list[dict[str, Any]] = []
        with self._client() as bc:
            for ch in session.channels:
                out += [self.describe(r) for r in bc.routes(table=ch.table,
                                                            protocol=session.name,
                                                            filtered=filtered)]
        return out

    def lookup(self, query: str) -> list[dict[str, Any]]:
        """Every route for a prefix or address: the route server's choice and alternatives,
        and what each member sent that was filtered."""
        net = ipaddress.ip_network(query, strict=False)
        master = "master4" if net.version == 4 else "master6"
        found: list[dict[str, Any]] = []
        with self._client() as bc:
            found += [self.describe(r) for r in _routes(bc, table=master, prefix=str(net))]
            for p in bc.protocols():
                if p.proto != "BGP":
                    continue
                for ch in p.channels:
                    if ch.name != f"ipv{net.version}":
                        continue
                    # BIRD's "show route for" does not search filtered routes: match here
                    for r in _routes(bc, table=ch.table, protocol=p.name, filtered=True):
                        if ipaddress.ip_network(r.prefix, strict=False).overlaps(net):
                            found.append({**self.describe(r), "filtered": True})
        return found

    def describe(self, route: Route) -> dict[str, Any]:
        """A route as data, with its reasons and tags in words."""
        reasons = reject_reasons_of(list(route.large_communities), self.rs_asn)
        tags = [t.text for t in INFO_TAGS
                if (self.rs_asn, LC_INFO, t.code) in route.large_communities]
        return {
            "prefix": route.prefix, "protocol": route.protocol, "best": route.best,
            "next_hop": route.next_hop, "as_path": list(route.as_path),
            "communities": [list(c) for c in route.communities],
            "large_communities": [list(c) for c in route.large_communities],
            "local_pref": route.local_pref, "med": route.med,
            "origin": route.attributes.get("BGP.origin", ""),
            "filtered": bool(reasons), "reasons": [r.text for r in reasons], "tags": tags,
        }
