"""Synthetic configurations of any size (10 to 2000+ members), for benchmarks and load tests."""

from __future__ import annotations

import ipaddress

from appliance.config.loader import dump_config
from appliance.config.model import IXPConfig

LAN4 = ipaddress.IPv4Network("10.16.0.0/20")
LAN6 = ipaddress.IPv6Network("fd16:1::/64")
FIRST_ASN = 196_608  # start of a public 4-byte range: no lab flag needed
MAX_MEMBERS = 4000


def synthetic_data(members: int, *, name: str = "Synthetic IXP") -> dict[str, object]:
    """Config data with ``members`` members, each with one port, MAC, IPv4 and IPv6 address.

    Deterministic: the same count always gives the same config.
    """
    if not 0 <= members <= MAX_MEMBERS:
        raise ValueError(f"members must be between 0 and {MAX_MEMBERS}")
    hosts4 = LAN4.network_address
    hosts6 = LAN6.network_address
    rows = []
    for i in range(members):
        n = i + 10  # .1-.9 are kept for the route servers and services
        rows.append({
            "asn": FIRST_ASN + i,
            "name": f"Member {i + 1}",
            "noc_email": f"noc{i + 1}@member{i + 1}.example.net",
            "ports": [f"p{i + 1}"],
            "macs": [f"02:10:{(i >> 16) & 0xff:02x}:{(i >> 8) & 0xff:02x}:{i & 0xff:02x}:01"],
            "ipv4": [str(hosts4 + n)],
            "ipv6": [str(hosts6 + n)],
            "max_prefix": {"ipv4": 100 + i % 400, "ipv6": 50 + i % 100},
            "as_set": f"AS{FIRST_ASN + i}:AS-CUSTOMERS",
        })
    return {
        "identity": {"name": name, "short_name": "SYNIX", "country": "WS",
                     "contact_email": "noc@synthetic.example.net"},
        "peering_lan": {"ipv4_prefix": str(LAN4), "ipv6_prefix": str(LAN6)},
        "route_server": {"asn": 65000, "router_id": str(hosts4 + 1), "ipv4": str(hosts4 + 1),
                         "ipv6": str(hosts6 + 1)},
        "members": rows,
    }


def synthetic_config(members: int) -> IXPConfig:
    """A validated synthetic config."""
    from appliance.config.loader import config_from_data

    return config_from_data(synthetic_data(members))


def synthetic_yaml(members: int) -> str:
    """A synthetic config as canonical YAML."""
    return dump_config(synthetic_config(members))
