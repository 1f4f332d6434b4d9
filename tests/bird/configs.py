"""Synthetic configurations for the route-server tests (built in code, validated by the model)."""

from __future__ import annotations

import ipaddress
from typing import Any

from appliance.config.model import IXPConfig

LAN4 = ipaddress.IPv4Network("185.1.0.0/21")
LAN6 = ipaddress.IPv6Network("2001:7f8:ffff::/64")


def member(i: int, asn: int, **extra: Any) -> dict[str, Any]:
    """Member number ``i`` (1-based) with addresses .i+9 in both families."""
    data: dict[str, Any] = {
        "asn": asn,
        "name": f"Member {i}",
        "ports": [f"ixp{i}"],
        "macs": [f"02:00:5e:10:{i // 256:02x}:{i % 256:02x}"],
        "ipv4": [str(LAN4[i + 9])],
        "ipv6": [str(LAN6[i + 9])],
    }
    data.update(extra)
    return data


def config(members: list[dict[str, Any]], *, rs_asn: int = 65000, lab: bool = False,
           **rs_extra: Any) -> IXPConfig:
    """An IXP with the route server at .1 of the LAN and ``members``."""
    data = {
        "lab": lab,
        "identity": {"name": "Test IX", "short_name": "TIX", "country": "FJ",
                     "contact_email": "noc@tix.example.net"},
        "peering_lan": {"ipv4_prefix": str(LAN4), "ipv6_prefix": str(LAN6)},
        "route_server": {"asn": rs_asn, "router_id": str(LAN4[1]), "ipv4": str(LAN4[1]),
                         "ipv6": str(LAN6[1]), **rs_extra},
        "members": members,
    }
    return IXPConfig.model_validate(data)


def many_members(n: int) -> IXPConfig:
    """``n`` members with public ASNs and a mix of per-member options."""
    members = []
    for i in range(1, n + 1):
        extra: dict[str, Any] = {"max_prefix": {"ipv4": 10 + i, "ipv6": 5 + i}}
        if i % 7 == 0:
            extra["md5_password"] = f"secret-{i}"
        if i % 11 == 0:
            extra["policy"] = {"next_hop": "same_as", "irr": "tag_only", "rpki": "tag_only",
                               "max_prefix_action": "block"}
        if i % 13 == 0:
            extra["quarantine"] = True
        if i % 17 == 0:
            extra["ipv6"] = []
        if i % 5 == 0:
            extra["as_set"] = f"AS-M{i}"
        asn = 200000 + i if i % 3 == 0 else 10000 + i  # 32-bit and 16-bit ASNs
        members.append(member(i, asn, **extra))
    return config(members, rpki_validators=[{"host": "127.0.0.1", "port": 3323}])
