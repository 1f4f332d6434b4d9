"""The few BER rules SNMPv2c messages need (X.690), for the agent's fast path.

Only definite lengths and single-octet tags, which is all SNMP uses. Decoding raises
``BerError`` on anything malformed; the caller drops such datagrams.
"""

from __future__ import annotations

from typing import Any

SEQUENCE = 0x30
INTEGER = 0x02
OCTET_STRING = 0x04
NULL = 0x05
OID = 0x06


class BerError(ValueError):
    """Malformed or unsupported BER."""


def length(n: int) -> bytes:
    """A definite length."""
    if n < 0x80:
        return bytes((n,))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def tlv(tag: int, value: bytes) -> bytes:
    """Tag, length, value."""
    return bytes((tag,)) + length(len(value)) + value


def int_body(n: int) -> bytes:
    """Minimal two's-complement content octets (non-negative values get a leading 0 bit)."""
    return n.to_bytes(max(1, (n.bit_length() + 8) // 8), "big", signed=True)


def oid_body(oid: tuple[int, ...]) -> bytes:
    """Content octets of an OBJECT IDENTIFIER."""
    if len(oid) < 2:
        raise BerError("an OID needs two arcs")
    arcs = [oid[0] * 40 + oid[1], *oid[2:]]
    out = bytearray()
    for arc in arcs:
        if arc < 0x80:
            out.append(arc)
            continue
        chunk = []
        while arc:
            chunk.append(arc & 0x7F)
            arc >>= 7
        chunk.reverse()
        out.extend([c | 0x80 for c in chunk[:-1]] + [chunk[-1]])
    return bytes(out)


# RFC 2578 3.5: at most 128 sub-identifiers, each an unsigned 32-bit number. Bounding them
# here keeps one hostile packet (a 60 kB arc) from costing the agent seconds of big-int work.
MAX_ARCS = 128
MAX_ARC = 0xFFFFFFFF


def decode_oid(body: bytes) -> tuple[int, ...]:
    """An OBJECT IDENTIFIER's arcs from its content octets (RFC 2578 bounds enforced)."""
    if not body:
        raise BerError("empty OID")
    arcs: list[int] = []
    value = 0
    for b in body:
        value = (value << 7) | (b & 0x7F)
        if value > (MAX_ARC if arcs else MAX_ARC + 80):  # the first holds two (2 * 40 + arc)
            raise BerError("OID sub-identifier larger than 32 bits")
        if not b & 0x80:
            arcs.append(value)
            value = 0
            if len(arcs) > MAX_ARCS - 1:  # the first carries two arcs
                raise BerError(f"OID longer than {MAX_ARCS} sub-identifiers")
    if body[-1] & 0x80:
        raise BerError("truncated OID")
    first = arcs[0]
    head = (0, first) if first < 40 else (1, first - 40) if first < 80 else (2, first - 80)
    return (*head, *arcs[1:])


def read(buf: bytes, pos: int, end: int | None = None) -> tuple[int, bytes, int]:
    """(tag, content, next position) of the TLV at ``pos``."""
    end = len(buf) if end is None else end
    if pos + 2 > end:
        raise BerError("truncated TLV")
    tag = buf[pos]
    if tag & 0x1F == 0x1F:
        raise BerError("multi-octet tags are not used by SNMP")
    n = buf[pos + 1]
    pos += 2
    if n & 0x80:
        count = n & 0x7F
        if count == 0 or count > 4 or pos + count > end:
            raise BerError("bad length")
        n = int.from_bytes(buf[pos:pos + count], "big")
        pos += count
    if pos + n > end:
        raise BerError("value runs past the message")
    return tag, buf[pos:pos + n], pos + n


def read_int(buf: bytes, pos: int) -> tuple[int, int]:
    """An INTEGER at ``pos``: (value, next position)."""
    tag, body, pos = read(buf, pos)
    if tag != INTEGER or not body:
        raise BerError("expected INTEGER")
    return int.from_bytes(body, "big", signed=True), pos


def encode_value(value: Any) -> bytes:
    """A pysnmp (pyasn1) SNMP value as BER, tagged as its type says (IMPLICIT app tags)."""
    tag = value.tagSet[-1]
    ident = tag.tagClass | tag.tagFormat | tag.tagId
    if ident in (OCTET_STRING, 0x40, 0x44):  # OCTET STRING, IpAddress, Opaque
        return tlv(ident, value.asOctets())
    if ident == OID:
        return tlv(OID, oid_body(tuple(value)))
    if ident == NULL:
        return b"\x05\x00"
    return tlv(ident, int_body(int(value)))


# Application tags (RFC 2578) -> pysnmp type names: what the agent stores as BER comes back
# as the type that encodes to the same bytes (Gauge32 and Unsigned32 are one on the wire).
_TYPES = {INTEGER: "Integer32", OCTET_STRING: "OctetString", OID: "ObjectIdentifier",
          NULL: "Null", 0x40: "IpAddress", 0x41: "Counter32", 0x42: "Gauge32",
          0x43: "TimeTicks", 0x44: "Opaque", 0x46: "Counter64"}


def decode_value(data: bytes) -> Any:
    """The pysnmp (pyasn1) value ``encode_value`` made ``data`` from (for the pysnmp path)."""
    from pysnmp.proto import rfc1902  # only the SNMPv3 path needs pysnmp objects

    tag, body, _ = read(data, 0)
    kind = getattr(rfc1902, _TYPES[tag])
    if tag in (OCTET_STRING, 0x40, 0x44):
        return kind(body)
    if tag == OID:
        return kind(decode_oid(body))
    if tag == NULL:
        return kind("")
    return kind(int.from_bytes(body, "big", signed=True))


def varbind(oid: tuple[int, ...], value_ber: bytes) -> bytes:
    """One VarBind: SEQUENCE { name, value }."""
    return tlv(SEQUENCE, tlv(OID, oid_body(oid)) + value_ber)
