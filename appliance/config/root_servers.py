"""The thirteen root name servers: who runs each letter and its service addresses.

From IANA's root hints (Debian's ``dns-root-data`` ships the same file). The route server uses
this for hosted root instances (accept only prefixes covering the letter's address) and the
validation uses it so that the box itself never announces a root server's prefix.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass


@dataclass(frozen=True)
class RootServer:
    """One root server letter."""

    letter: str
    operator: str
    ipv4: ipaddress.IPv4Address
    ipv6: ipaddress.IPv6Address


def _r(letter: str, operator: str, v4: str, v6: str) -> RootServer:
    return RootServer(letter, operator, ipaddress.IPv4Address(v4), ipaddress.IPv6Address(v6))


ROOT_SERVERS: dict[str, RootServer] = {r.letter: r for r in (
    _r("a", "Verisign", "198.41.0.4", "2001:503:ba3e::2:30"),
    _r("b", "USC Information Sciences Institute", "170.247.170.2", "2801:1b8:10::b"),
    _r("c", "Cogent Communications", "192.33.4.12", "2001:500:2::c"),
    _r("d", "University of Maryland", "199.7.91.13", "2001:500:2d::d"),
    _r("e", "NASA Ames Research Center", "192.203.230.10", "2001:500:a8::e"),
    _r("f", "Internet Systems Consortium (ISC)", "192.5.5.241", "2001:500:2f::f"),
    _r("g", "US Department of Defense (DISA)", "192.112.36.4", "2001:500:12::d0d"),
    _r("h", "US Army Research Lab", "198.97.190.53", "2001:500:1::53"),
    _r("i", "Netnod", "192.36.148.17", "2001:7fe::53"),
    _r("j", "Verisign", "192.58.128.30", "2001:503:c27::2:30"),
    _r("k", "RIPE NCC", "193.0.14.129", "2001:7fd::1"),
    _r("l", "ICANN", "199.7.83.42", "2001:500:9f::42"),
    _r("m", "WIDE Project", "202.12.27.33", "2001:dc3::35"),
)}


def root_letters_in(prefix: ipaddress.IPv4Network | ipaddress.IPv6Network) -> list[str]:
    """The letters whose service address lies inside ``prefix`` (empty for most prefixes)."""
    return [r.letter for r in ROOT_SERVERS.values()
            if (r.ipv4 if prefix.version == 4 else r.ipv6) in prefix]
