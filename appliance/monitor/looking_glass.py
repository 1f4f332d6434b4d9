"""The route server's routes, read through its control socket, for the looking glass.

Every route is given as plain data with its reject reasons and informational tags in words, so
the page and the birdwatcher-compatible API share one reading.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

from appliance.platform.bird.control import BirdControl, route_server_socket
from appliance.platform.bird.replies import BirdError, Protocol, Route, parse_routes
from appliance.route_server.communities import INFO_TAGS, LC_INFO, reject_reasons_of

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
NOT_FOUND = 8001  # BIRD's "Network not found": no route for that prefix in that table


def _routes(bc: BirdControl, **query: Any) -> list[Route]:
    try:
        return bc.routes(**query)
    except BirdError as exc:
        if exc.code == NOT_FOUND:
            return []
        raise


def _overlaps(route: Route, net: IPNetwork) -> bool:
    try:
        other = ipaddress.ip_network(route.prefix, strict=False)
    except ValueError:
        return False
    return other.version == net.version and (other.subnet_of(net)  # type: ignore[arg-type]
                                             or other.supernet_of(net))  # type: ignore[arg-type]


def search_root(net: IPNetwork, min_length: int) -> IPNetwork:
    """The prefix whose subtree holds every route worth showing for ``net``: ``net``'s
    supernet at the shortest length the route server keeps (``net`` itself if shorter)."""
    return net.supernet(new_prefix=min_length) if net.prefixlen > min_length else net


def _filtered_overlapping(bc: BirdControl, net: IPNetwork, min_length: int) -> list[Route]:
    """Filtered routes (in any member's table) that cover ``net`` or lie inside it.

    BIRD's "show route for" does not search filtered routes, and asking every session for
    its filtered routes walks every member table whole (some 20 s at 500 members x 100
    prefixes); one exact lookup per shorter prefix length made 130 commands for one IPv6
    address. Instead one command: "in ROOT", ROOT being ``net``'s supernet at the policy's
    minimum length, across all tables at once; what does not overlap ``net`` is dropped here.
    Covering routes shorter than that minimum (a filtered default route, say) are not
    searched: the member's session page lists them.
    """
    root = search_root(net, min_length)
    # root is an ip_network, so the text below is digits, dots, colons and a slash only
    try:
        routes = parse_routes(bc.command(f"show route in {root} table all filtered all"))
    except BirdError as exc:
        if exc.code != NOT_FOUND:
            raise
        routes = []
    return [r for r in routes if not r.table.startswith("master") and _overlaps(r, net)]


def _address(session: Protocol) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(session.details.get("Neighbor address", "").split("%")[0])
    except ValueError:
        return None


class LookingGlass:
    """Queries against one route server's BIRD."""

    def __init__(self, state_dir: Path, rs_asn: int, *, min_lengths: tuple[int, int] = (8, 12)
                 ) -> None:
        self.ctl = route_server_socket(state_dir)
        self.rs_asn = rs_asn
        # the policy's ipv4_min_length and ipv6_min_length: where a prefix search starts
        self.min_lengths = min_lengths

    def _client(self) -> BirdControl:
        return BirdControl(self.ctl)

    def protocols(self) -> list[Protocol]:
        """Every protocol: the BGP sessions and the pipes that join their tables to the
        main ones (clients.j2), and the rest (device, RPKI, static)."""
        with self._client() as bc:
            return bc.protocols()

    def sessions(self) -> list[Protocol]:
        """The BGP sessions."""
        return [p for p in self.protocols() if p.proto == "BGP"]

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

    def session_tables(self) -> dict[str, Protocol]:
        """Each member table (``t_<session>``) and the session whose routes it holds."""
        return {ch.table: p for p in self.sessions() for ch in p.channels if ch.table}

    def table_routes(self, table: str, *, filtered: bool) -> list[dict[str, Any]] | None:
        """Every route of a table; None when there is no such table.

        ``master4``, ``master6`` (and ``master``, both) are the main tables. Their filtered
        routes are the members' filtered routes of that family: the box keeps them in each
        session's own table, where the import filter left them; one command reads them all.
        A member table (``t_<session>``) is read as it is.
        """
        mains = {"master": ("master4", "master6"), "master4": ("master4",),
                 "master6": ("master6",)}
        members = self.session_tables()
        if table not in mains and table not in members:
            return None
        with self._client() as bc:
            if table in members:
                return [self.describe(r) for r in _routes(bc, table=table, filtered=filtered)]
            if not filtered:
                return [self.describe(r) for t in mains[table] for r in _routes(bc, table=t)]
            versions = {6 if t.endswith("6") else 4 for t in mains[table]}
            try:
                routes = parse_routes(bc.command("show route table all filtered all"))
            except BirdError as exc:
                if exc.code != NOT_FOUND:
                    raise
                routes = []
            return [self.describe(r) for r in routes if r.table in members
                    and (6 if ":" in r.prefix else 4) in versions]

    def peer_routes(self, address: str, table: str | None = None
                    ) -> list[dict[str, Any]] | None:
        """The accepted routes of the sessions with that neighbour address, from their own
        tables or from ``table`` (a main table); None when no session has that address."""
        try:
            addr = ipaddress.ip_address(address)
        except ValueError:
            return None
        found = [p for p in self.sessions() if _address(p) == addr]
        if not found:
            return None
        out: list[dict[str, Any]] = []
        with self._client() as bc:
            for p in found:
                for ch in p.channels:
                    out += [self.describe(r) for r in _routes(bc, table=table or ch.table,
                                                              protocol=p.name)]
        return out

    def not_exported(self, name: str) -> list[dict[str, Any]] | None:
        """What the route server does not send to a member: for a session, the routes the
        pipe into its table refuses (the export policy, rs_to_AS<n>) and those its own
        export filter refuses (rs_out: next hops it cannot carry); for a pipe, the first
        kind only. None when there is no such session or pipe."""
        protocols = {p.name: p for p in self.protocols()}
        proto = protocols.get(name)
        if proto is None or proto.proto not in ("BGP", "Pipe"):
            return None
        pipes = {ch.peer_table: p.name for p in protocols.values() if p.proto == "Pipe"
                 for ch in p.channels if ch.peer_table}
        out: list[dict[str, Any]] = []
        with self._client() as bc:
            if proto.proto == "Pipe":
                return [self.describe(r) for r in _routes(bc, noexport=name)]
            for ch in proto.channels:
                if ch.table in pipes:
                    out += [self.describe(r) for r in _routes(bc, noexport=pipes[ch.table])]
                out += [self.describe(r) for r in _routes(bc, table=ch.table, noexport=name)]
        return out

    def lookup(self, query: str) -> list[dict[str, Any]]:
        """Every route for a prefix or address: the route server's choice and alternatives,
        and what each member sent that was filtered and overlaps it."""
        net = ipaddress.ip_network(query, strict=False)
        master = "master4" if net.version == 4 else "master6"
        found: list[dict[str, Any]] = []
        with self._client() as bc:
            found += [self.describe(r) for r in _routes(bc, table=master, prefix=str(net))]
            min_length = self.min_lengths[0 if net.version == 4 else 1]
            for r in _filtered_overlapping(bc, net, min_length):
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
            "table": route.table, "since": route.since, "source": route.source,
            "gateway": route.gateway, "interface": route.interface,
            "type": route.attributes.get("Type", "").split(),
            "otc": route.attributes.get("BGP.otc", ""),
        }
