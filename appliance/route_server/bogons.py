"""The bogon list (``data/bogons.yaml``): loaded once, handed to the pure renderer."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml


@dataclass(frozen=True)
class AsnRange:
    """A closed range of bogon ASNs."""

    first: int
    last: int
    why: str
    documentation: bool = False


@dataclass(frozen=True)
class Bogons:
    """Bogon prefixes (matched or-longer) and ASN ranges."""

    prefixes4: tuple[str, ...]
    prefixes6: tuple[str, ...]
    ipv6_global_unicast: str
    asns: tuple[AsnRange, ...]

    def asn_ranges(self, lab: bool) -> tuple[AsnRange, ...]:
        """The ranges to refuse; a lab config uses documentation ASNs, so those are allowed."""
        return tuple(r for r in self.asns if not (lab and r.documentation))


def parse_bogons(text: str) -> Bogons:
    """Parse and check a bogon YAML document; raise ``ValueError`` naming the bad entry."""
    data = yaml.safe_load(text)
    v4 = tuple(str(ipaddress.IPv4Network(p)) for p in data["prefixes_ipv4"])
    v6 = tuple(str(ipaddress.IPv6Network(p)) for p in data["prefixes_ipv6"])
    gua = str(ipaddress.IPv6Network(data["ipv6_global_unicast"]))
    asns = []
    for item in data["asns"]:
        first, last = int(item["from"]), int(item["to"])
        if not 0 <= first <= last <= 4_294_967_295:
            raise ValueError(f"bogon ASN range {first}-{last} is not a valid range")
        asns.append(AsnRange(first, last, str(item["why"]), bool(item.get("documentation"))))
    return Bogons(v4, v6, gua, tuple(asns))


@lru_cache(maxsize=1)
def load_bogons() -> Bogons:
    """The bogon list shipped with the appliance."""
    text = resources.files("appliance.route_server").joinpath("data/bogons.yaml").read_text()
    return parse_bogons(text)
