"""Annotated field types shared by the model, each with an operator-readable error.

Pydantic's own messages ("Input is not a valid IPv4 network") do not say what to do; these
parsers raise ``ValueError`` with a message that does, and the loader shows it next to the
field's path.
"""

from __future__ import annotations

import ipaddress
import re
import zoneinfo
from functools import lru_cache
from typing import Annotated

from pydantic import BeforeValidator, Field

ASN_MAX = 4_294_967_295

# Each pattern is used with fullmatch: "$" would also match before a trailing newline.
_IFNAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:@-]{0,14}")
_HOSTNAME_LABEL_RE = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_MAC_RE = re.compile(r"[0-9a-f]{2}([:-]?)[0-9a-f]{2}(\1[0-9a-f]{2}){4}")
# Starts with a letter, always: the name is handed to bgpq4, where "-..." would be an option.
_AS_SET_RE = re.compile(
    r"(?:[A-Z][A-Z0-9-]*::)?(?:AS\d+:)?AS-[A-Z0-9_-]+(?::AS-[A-Z0-9_-]+)*"
    r"|(?:[A-Z][A-Z0-9-]*::)?AS\d+"
)


def _text(value: object, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"must be {what} written as text, got {type(value).__name__}")
    return str(value).strip()


def parse_asn(value: object) -> int:
    """Accept 64500, "64500" or "AS64500"; refuse anything outside 0..4294967295."""
    if isinstance(value, bool):
        raise ValueError("must be an AS number such as 64500, not true/false")
    if isinstance(value, str):
        text = value.strip().upper()
        text = text[2:] if text.startswith("AS") else text
        if "." in text:  # asdot notation, e.g. 1.10 = 65546
            high, _, low = text.partition(".")
            if high.isdigit() and low.isdigit() and int(high) < 65536 and int(low) < 65536:
                return int(high) * 65536 + int(low)
        if not text.isdigit():
            raise ValueError(f"'{value}' is not an AS number; write it like 64500 or AS64500")
        value = int(text)
    if not isinstance(value, int):
        raise ValueError(f"must be an AS number such as 64500, got {type(value).__name__}")
    if not 0 <= value <= ASN_MAX:
        raise ValueError(f"{value} is outside the AS number range 0 to {ASN_MAX}")
    return value


def parse_ipv4_address(value: object) -> ipaddress.IPv4Address:
    """An IPv4 address; an IPv6 address here gets a hint to move it."""
    text = _text(value, "an IPv4 address")
    try:
        return ipaddress.IPv4Address(text)
    except ValueError:
        pass
    if _is_v6(text):
        raise ValueError(f"'{text}' is an IPv6 address; put it under the ipv6 field instead")
    if "/" in text:
        raise ValueError(f"'{text}' has a prefix length; give the bare address, e.g. 192.0.2.10")
    raise ValueError(f"'{text}' is not an IPv4 address (expected four numbers like 192.0.2.10)")


def parse_ipv6_address(value: object) -> ipaddress.IPv6Address:
    """An IPv6 address; an IPv4 address here gets a hint to move it."""
    text = _text(value, "an IPv6 address")
    try:
        return ipaddress.IPv6Address(text)
    except ValueError:
        pass
    if _is_v4(text):
        raise ValueError(f"'{text}' is an IPv4 address; put it under the ipv4 field instead")
    if "/" in text:
        raise ValueError(f"'{text}' has a prefix length; give the bare address, e.g. 2001:db8::10")
    raise ValueError(f"'{text}' is not an IPv6 address (expected something like 2001:db8::10)")


def parse_ip_address(value: object) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """An IPv4 or IPv6 address."""
    text = _text(value, "an IP address")
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise ValueError(f"'{text}' is not an IP address") from None


def _network(text: str, version: int | None) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        kind = {4: "an IPv4 prefix", 6: "an IPv6 prefix", None: "an IP prefix"}[version]
        example = {4: "203.0.113.0/24", 6: "2001:db8::/48", None: "203.0.113.0/24"}[version]
        raise ValueError(f"'{text}' is not {kind}; write it like {example}") from None
    if version == 4 and net.version == 6:
        raise ValueError(f"'{text}' is an IPv6 prefix; put it under the IPv6 field instead")
    if version == 6 and net.version == 4:
        raise ValueError(f"'{text}' is an IPv4 prefix; put it under the IPv4 field instead")
    if "/" not in text:
        raise ValueError(f"'{text}' has no prefix length; write it like {net.with_prefixlen}")
    try:
        ipaddress.ip_network(text, strict=True)
    except ValueError:
        raise ValueError(
            f"'{text}' has host bits set; the prefix is {net.with_prefixlen} (write that)"
        ) from None
    return net


def parse_ipv4_network(value: object) -> ipaddress.IPv4Network:
    """An IPv4 prefix with no host bits, such as 203.0.113.0/24."""
    return _network(_text(value, "an IPv4 prefix"), 4)  # type: ignore[return-value]


def parse_ipv6_network(value: object) -> ipaddress.IPv6Network:
    """An IPv6 prefix with no host bits, such as 2001:db8::/64."""
    return _network(_text(value, "an IPv6 prefix"), 6)  # type: ignore[return-value]


def parse_ip_network(value: object) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """An IPv4 or IPv6 prefix with no host bits."""
    return _network(_text(value, "an IP prefix"), None)


def parse_ipv4_interface(value: object) -> ipaddress.IPv4Interface | str:
    """'dhcp' or an address with prefix length such as 192.0.2.10/24."""
    text = _text(value, "an IPv4 address with prefix length")
    if text.lower() == "dhcp":
        return "dhcp"
    try:
        iface = ipaddress.IPv4Interface(text)
    except ValueError:
        raise ValueError(
            f"'{text}' is neither 'dhcp' nor an address with prefix length like 192.0.2.10/24"
        ) from None
    if "/" not in text:
        raise ValueError(f"'{text}' needs a prefix length, e.g. {text}/24")
    return iface


def parse_ipv6_interface(value: object) -> ipaddress.IPv6Interface | str:
    """'auto' (SLAAC), 'none', or an address with prefix length such as 2001:db8::10/64."""
    text = _text(value, "an IPv6 address with prefix length")
    if text.lower() in ("auto", "none"):
        return text.lower()
    try:
        iface = ipaddress.IPv6Interface(text)
    except ValueError:
        raise ValueError(
            f"'{text}' is neither 'auto', 'none' nor an address like 2001:db8::10/64"
        ) from None
    if "/" not in text:
        raise ValueError(f"'{text}' needs a prefix length, e.g. {text}/64")
    return iface


def parse_mac(value: object) -> str:
    """A unicast Ethernet MAC address, normalised to lower case with colons."""
    text = _text(value, "a MAC address").lower()
    if not _MAC_RE.fullmatch(text):
        raise ValueError(f"'{text}' is not a MAC address; write it like 02:00:5e:10:00:01")
    hexdigits = re.sub(r"[:-]", "", text)
    mac = ":".join(hexdigits[i : i + 2] for i in range(0, 12, 2))
    if int(hexdigits[:2], 16) & 1:
        raise ValueError(f"'{mac}' is a multicast MAC; a router port has a unicast MAC")
    if hexdigits == "0" * 12:
        raise ValueError("00:00:00:00:00:00 is not a usable MAC address")
    return mac


def parse_ifname(value: object) -> str:
    """A Linux interface name: 1 to 15 characters, no spaces or slashes."""
    text = _text(value, "an interface name")
    if not _IFNAME_RE.fullmatch(text):
        raise ValueError(
            f"'{text}' is not a valid interface name (1 to 15 letters, digits, '.', '-', '_')"
        )
    return text


def parse_hostname(value: object) -> str:
    """An RFC 1123 host name (may be dotted)."""
    text = _text(value, "a host name").rstrip(".")
    labels = text.split(".")
    if not text or len(text) > 253 or not all(_HOSTNAME_LABEL_RE.fullmatch(x) for x in labels):
        raise ValueError(f"'{text}' is not a valid host name (letters, digits and '-' only)")
    return text.lower()


def parse_host_or_ip(value: object) -> str:
    """A host name or an IP address (for NTP servers and RPKI validators)."""
    text = _text(value, "a host name or IP address")
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return parse_hostname(text)


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def parse_timezone(value: object) -> str:
    """An IANA time zone name such as Europe/Paris or Pacific/Fiji."""
    text = _text(value, "a time zone")
    zones = _zones()
    if text in zones or text == "UTC" or (not zones and re.fullmatch(r"[A-Za-z_+/-]+", text)):
        return text
    raise ValueError(f"'{text}' is not a known time zone; use a name like UTC or Pacific/Fiji")


def parse_as_set(value: object) -> str:
    """An IRR AS-SET (AS-EXAMPLE, AS64500:AS-CUSTOMERS, RIPE::AS-EXAMPLE) or a single ASxxx."""
    text = _text(value, "an AS-SET name").upper()
    if not _AS_SET_RE.fullmatch(text):
        raise ValueError(
            f"'{text}' is not an AS-SET; write it like AS-EXAMPLE or AS64500:AS-CUSTOMERS "
            "(it starts with a letter)"
        )
    return text


def _is_v4(text: str) -> bool:
    try:
        ipaddress.ip_network(text, strict=False)
        return ipaddress.ip_network(text, strict=False).version == 4
    except ValueError:
        return False


def _is_v6(text: str) -> bool:
    try:
        return ipaddress.ip_network(text, strict=False).version == 6
    except ValueError:
        return False


ASN = Annotated[int, BeforeValidator(parse_asn)]
IPv4Addr = Annotated[ipaddress.IPv4Address, BeforeValidator(parse_ipv4_address)]
IPv6Addr = Annotated[ipaddress.IPv6Address, BeforeValidator(parse_ipv6_address)]
IPAddr = Annotated[
    ipaddress.IPv4Address | ipaddress.IPv6Address, BeforeValidator(parse_ip_address)
]
IPv4Net = Annotated[ipaddress.IPv4Network, BeforeValidator(parse_ipv4_network)]
IPv6Net = Annotated[ipaddress.IPv6Network, BeforeValidator(parse_ipv6_network)]
IPNet = Annotated[
    ipaddress.IPv4Network | ipaddress.IPv6Network, BeforeValidator(parse_ip_network)
]
MAC = Annotated[str, BeforeValidator(parse_mac)]
IfName = Annotated[str, BeforeValidator(parse_ifname)]
Hostname = Annotated[str, BeforeValidator(parse_hostname)]
HostOrIP = Annotated[str, BeforeValidator(parse_host_or_ip)]
TimeZone = Annotated[str, BeforeValidator(parse_timezone)]
ASSet = Annotated[str, BeforeValidator(parse_as_set)]
Name = Annotated[str, Field(min_length=1, max_length=120, pattern=r"^[^\x00-\x1f\x7f]+$")]
