"""Which AS numbers may appear where (RFC 6996, RFC 5398, RFC 7300, RFC 6793, IANA registry)."""

from __future__ import annotations

from enum import Enum


class AsnKind(Enum):
    """What an AS number is, as far as an IXP cares."""

    PUBLIC = "public"
    ZERO = "zero"  # RFC 7607: never valid in a session or a path
    AS_TRANS = "as_trans"  # RFC 6793: 23456, stands in for a 4-byte ASN
    DOCUMENTATION = "documentation"  # RFC 5398
    PRIVATE = "private"  # RFC 6996
    RESERVED = "reserved"  # RFC 7300 last ASNs, IANA reserved blocks


def classify_asn(asn: int) -> AsnKind:
    """Classify ``asn`` into the kinds above."""
    if asn == 0:
        return AsnKind.ZERO
    if asn == 23456:
        return AsnKind.AS_TRANS
    if 64496 <= asn <= 64511 or 65536 <= asn <= 65551:
        return AsnKind.DOCUMENTATION
    if 64512 <= asn <= 65534 or 4_200_000_000 <= asn <= 4_294_967_294:
        return AsnKind.PRIVATE
    if asn in (65535, 4_294_967_295) or 65552 <= asn <= 131071:
        return AsnKind.RESERVED
    return AsnKind.PUBLIC


_WHY = {
    AsnKind.ZERO: "AS 0 is never valid in BGP (RFC 7607)",
    AsnKind.AS_TRANS: "AS 23456 is AS_TRANS, a placeholder for 4-byte ASNs (RFC 6793); "
    "use the network's real 4-byte ASN",
    AsnKind.DOCUMENTATION: "is reserved for documentation (RFC 5398)",
    AsnKind.PRIVATE: "is a private ASN (RFC 6996); IXP members need a public ASN from their RIR",
    AsnKind.RESERVED: "is reserved by IANA and never assigned",
}


def asn_problem(asn: int, *, lab: bool, route_server: bool = False) -> str | None:
    """Why ``asn`` is not acceptable for a member (or the route server), or None if it is.

    A lab config may use documentation and private ASNs, never 0, AS_TRANS or reserved ones.
    The route server may use a private ASN: a transparent route server never puts it in a path.
    """
    kind = classify_asn(asn)
    if kind is AsnKind.PUBLIC:
        return None
    if kind is AsnKind.PRIVATE and (lab or route_server):
        return None
    if kind is AsnKind.DOCUMENTATION and lab:
        return None
    why = _WHY[kind]
    text = why if why.startswith("AS") else f"AS{asn} {why}"
    if kind in (AsnKind.DOCUMENTATION, AsnKind.PRIVATE):
        text += " (allowed only in a config marked 'lab: true')"
    return text
