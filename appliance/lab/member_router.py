"""Lab member routers: one BIRD per member namespace, announcing public-looking prefixes."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

import jinja2

from appliance.config.model import IXPConfig, Member
from appliance.platform.templates import environment

MAX_PREFIXES = 250


def member_prefixes(index: int, count: int) -> tuple[list[str], list[str]]:
    """``count`` IPv4 /24s and IPv6 /48s for the member at ``index``; same input, same prefixes.

    They look like real unicast space (the lab never sends them outside its namespaces) and
    avoid every bogon range, so the route server's filters let them through.
    """
    if not 0 <= count <= MAX_PREFIXES:
        raise ValueError(f"prefixes per member must be between 0 and {MAX_PREFIXES}")
    first, second = 31 + index // 256, index % 256
    v4 = [f"{first}.{second}.{k}.0/24" for k in range(count)]
    # The first octet stays inside 31-99 (plain unicast) for up to 17,000 members.
    v6 = [str(ipaddress.IPv6Network(f"2a0c:{index + 1:x}:{k:x}::/48")) for k in range(count)]
    return v4, v6


@lru_cache(maxsize=1)
def _template() -> jinja2.Template:
    return environment("appliance.lab").get_template("member-bird.conf.j2")


def router_id(member: Member, index: int) -> str:
    """The member router's BGP identifier: its first IPv4 address, else a stable made-up one."""
    if member.ipv4:
        return str(member.ipv4[0])
    return str(ipaddress.IPv4Address(0x0A000000 + index + 1))


def render_member_bird(cfg: IXPConfig, index: int, prefixes: int,
                       slot: int | None = None) -> str:
    """The BIRD config of member ``index``'s lab router (pure).

    ``slot`` is the router's place in the lab (default: ``index``): its prefixes and made-up
    router ID follow the slot, so a member added later never announces another's prefixes.
    """
    member = cfg.members[index]
    slot = index if slot is None else slot
    v4, v6 = member_prefixes(slot, prefixes)
    rs = cfg.route_server
    return _template().render(
        asn=member.asn,
        name=member.name.replace('"', "'"),
        router_id=router_id(member, slot),
        prefixes4=v4 if member.ipv4 else [],
        prefixes6=v6 if member.ipv6 else [],
        rs_asn=rs.asn,
        rs4=rs.ipv4 if member.route_server else None,
        rs6=rs.ipv6 if member.route_server else None,
        addr4=member.ipv4[0] if member.ipv4 else None,
        addr6=member.ipv6[0] if member.ipv6 else None,
    )
