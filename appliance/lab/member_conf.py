"""BIRD configs for the member routers of the tests and benchmarks: they announce exactly what
a scenario needs.

The session to the route server is itself ``rs client`` so that a route's AS path, next hop and
communities reach the route server exactly as the scenario wrote them (a normal router would
prepend its ASN; scenarios that need that write it into the path).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Announce:
    """One route a member sends to the route server."""

    prefix: str
    path: tuple[int, ...]
    communities: tuple[tuple[int, int], ...] = ()
    large: tuple[tuple[int, int, int], ...] = ()
    via: str | None = None  # third-party next hop; default: the member's own address
    med: int | None = None
    # An AS_SET after ``path`` and a sequence after that: only tests.bird.raw_bgp sends these.
    as_set: tuple[int, ...] = ()
    after_set: tuple[int, ...] = ()
    # An RFC 9234 Only-to-Customer attribute already on the route: only tests.bird.raw_bgp
    # sends these (a BIRD with a role never sends such a route to a route server).
    otc: int | None = None

    def raw(self) -> dict[str, object]:
        """The route as tests.bird.raw_bgp takes it."""
        segments: list[tuple[str, list[int]]] = [("seq", list(self.path))]
        if self.as_set:
            segments.append(("set", list(self.as_set)))
        if self.after_set:
            segments.append(("seq", list(self.after_set)))
        out: dict[str, object] = {"prefix": self.prefix, "segments": segments}
        if self.via:
            out["next_hop"] = self.via
        if self.otc is not None:
            out["otc"] = self.otc
        return out

    def static(self) -> str:
        """The ``route`` line of BIRD's static protocol."""
        stmts = [f"bgp_path.prepend({a});" for a in reversed(self.path)]
        stmts += [f"bgp_community.add(({a}, {b}));" for a, b in self.communities]
        stmts += [f"bgp_large_community.add(({a}, {b}, {c}));" for a, b, c in self.large]
        if self.med is not None:
            stmts.append(f"bgp_med = {self.med};")
        dest = f"via {self.via}" if self.via else "blackhole"
        return f"  route {self.prefix} {dest} {{ {' '.join(stmts)} }};"


def member_conf(*, asn: int, router_id: str, rs_asn: int, local4: str | None, rs4: str | None,
                local6: str | None, rs6: str | None, routes: list[Announce],
                password: str | None = None, passive: bool = False,
                extended_next_hop: bool = False, add_paths: bool = False) -> str:
    """A member router: static routes out to the route server, everything in.

    ``extended_next_hop``: the IPv6 session carries IPv4 routes too (RFC 8950), with this
    router's IPv6 address as their next hop. ``add_paths``: receive every path (RFC 7911).
    """
    rx = " add paths rx;" if add_paths else ""
    v4 = [r for r in routes if ":" not in r.prefix]
    v6 = [r for r in routes if ":" in r.prefix]
    lines = [
        f"router id {router_id};",
        "protocol device {}",
        "protocol static ann4 { ipv4;",
        *[r.static() for r in v4],
        "}",
        "protocol static ann6 { ipv6;",
        *[r.static() for r in v6],
        "}",
        "template bgp rs_tpl {",
        f"  local as {asn};",
        "  rs client;",
        "  local role rs_client;",
        "  hold time 9; keepalive time 3; connect retry time 1; error wait time 1, 5;",
        *([f'  password "{password}";'] if password else []),
        *(["  passive on;"] if passive else []),  # only an active route server reaches it
        "}",
    ]
    if local4 and rs4:
        lines += [
            f"protocol bgp rs4 from rs_tpl {{ local {local4} as {asn}; "
            f"neighbor {rs4} as {rs_asn};",
            f'  ipv4 {{ import all; export where proto = "ann4";{rx} }}; }}',
        ]
    if local6 and rs6:
        lines += [
            f"protocol bgp rs6 from rs_tpl {{ local {local6} as {asn}; "
            f"neighbor {rs6} as {rs_asn};",
            f'  ipv6 {{ import all; export where proto = "ann6";{rx} }};',
            *([f'  ipv4 {{ extended next hop on; import all; export where proto = "ann4";{rx} }};']
              if extended_next_hop else []),
            "}",
        ]
    return "\n".join(lines) + "\n"
