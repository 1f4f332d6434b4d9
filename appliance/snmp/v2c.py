"""The SNMPv2c fast path: GET, GETNEXT and GETBULK answered straight from the object tree.

Monitoring walks are almost all v2c and thousands of requests long; pysnmp spends about a
millisecond on each, mostly building and encoding pyasn1 objects. This path decodes the few
fields a v2c request has and answers with varbinds encoded once per snapshot. SNMPv3 still
goes through pysnmp (USM, VACM). Access rules are the same ``AccessPolicy``.
"""

from __future__ import annotations

import logging

from appliance.snmp import ber
from appliance.snmp.access import AccessPolicy
from appliance.snmp.oidstore import ObjectTree

log = logging.getLogger("appliance.snmp.access")

V1, V2C = 0, 1
GET, GETNEXT, RESPONSE, SET, GETBULK = 0xA0, 0xA1, 0xA2, 0xA3, 0xA5
NO_SUCH_OBJECT, NO_SUCH_INSTANCE, END_OF_MIB = b"\x80\x00", b"\x81\x00", b"\x82\x00"
TOO_BIG, NOT_WRITABLE = 1, 17
MAX_MESSAGE = 65000  # under the UDP limit; clients cap max-repetitions far below this
MAX_VARBINDS = 1024


def peek_version(datagram: bytes) -> int | None:
    """The message version (0 v1, 1 v2c, 3 v3), or None if this is not an SNMP message."""
    try:
        tag, body, _ = ber.read(datagram, 0)
        if tag != ber.SEQUENCE:
            return None
        version, _ = ber.read_int(body, 0)
        return version
    except ber.BerError:
        return None


class V2cResponder:
    """Answers v2c requests; ``handle`` returns the response datagram or None (dropped)."""

    def __init__(self, tree_ref: object, policy: AccessPolicy) -> None:
        self.tree_ref = tree_ref  # anything with a ``.tree`` (the instrumentation): reloads swap it
        self.policy = policy

    @property
    def tree(self) -> ObjectTree:
        """The current object tree."""
        return self.tree_ref.tree  # type: ignore[attr-defined, no-any-return]

    def handle(self, datagram: bytes, source: str) -> bytes | None:
        """Process one datagram from ``source``."""
        try:
            tag, msg, _ = ber.read(datagram, 0)
            if tag != ber.SEQUENCE:
                return None
            version, pos = ber.read_int(msg, 0)
            if version == V1:
                self.policy.refuse(source, "SNMPv1 is not served (use v2c or v3)")
                return None
            if version != V2C:
                return None
            tag, community, pos = ber.read(msg, pos)
            if tag != ber.OCTET_STRING:
                return None
            if not self.policy.v2c_allowed(bytes(community), source):
                return None
            pdu_type, pdu, _ = ber.read(msg, pos)
            return self._pdu(bytes(community), pdu_type, pdu, source)
        except ber.BerError:
            return None  # malformed: nothing to answer

    def _pdu(self, community: bytes, pdu_type: int, pdu: bytes, source: str) -> bytes | None:
        request_id, pos = ber.read_int(pdu, 0)
        a, pos = ber.read_int(pdu, pos)
        b, pos = ber.read_int(pdu, pos)
        tag, vbs, _ = ber.read(pdu, pos)
        if tag != ber.SEQUENCE:
            raise ber.BerError("expected the varbind list")
        names, raw = self._names(vbs)
        if pdu_type == GET:
            body = [self._get(o) for o in names]
        elif pdu_type == GETNEXT:
            body = [self._next(o) for o in names]
        elif pdu_type == GETBULK:
            body = self._bulk(names, max(a, 0), max(b, 0))
        elif pdu_type == SET:
            log.warning("refused SNMP SET from %s: the agent is read-only", source)
            return self._response(community, request_id, NOT_WRITABLE, 1, raw)
        else:
            return None  # responses, traps and informs are not for an agent to answer
        out = self._response(community, request_id, 0, 0, b"".join(body))
        if len(out) > MAX_MESSAGE:
            if pdu_type == GETBULK:
                while body and len(out) > MAX_MESSAGE:  # RFC 3416 4.2.3: send fewer
                    body = body[: len(body) * 3 // 4]
                    out = self._response(community, request_id, 0, 0, b"".join(body))
            else:
                out = self._response(community, request_id, TOO_BIG, 0, b"")
        return out

    @staticmethod
    def _names(vbs: bytes) -> tuple[list[tuple[int, ...]], bytes]:
        names = []
        pos = 0
        while pos < len(vbs):
            tag, vb, pos = ber.read(vbs, pos)
            if tag != ber.SEQUENCE:
                raise ber.BerError("expected a varbind")
            tag, oid, _ = ber.read(vb, 0)
            if tag != ber.OID:
                raise ber.BerError("expected an OID")
            names.append(ber.decode_oid(bytes(oid)))
            if len(names) > MAX_VARBINDS:
                raise ber.BerError("too many varbinds")
        return names, vbs

    def _get(self, oid: tuple[int, ...]) -> bytes:
        status, value = self.tree.get_ber(oid)
        if status == "ok":
            return ber.varbind(oid, value)
        return ber.varbind(oid, NO_SUCH_OBJECT if status == "noSuchObject" else NO_SUCH_INSTANCE)

    def _next(self, oid: tuple[int, ...]) -> bytes:
        row = self.tree.next_ber(oid)
        if row is None:
            return ber.varbind(oid, END_OF_MIB)
        return ber.varbind(row[0], row[1])

    def _bulk(self, names: list[tuple[int, ...]], non_repeaters: int,
              max_repetitions: int) -> list[bytes]:
        n = min(non_repeaters, len(names))
        out = [self._next(o) for o in names[:n]]
        current = list(names[n:])
        if not current:
            return out
        reps = min(max_repetitions, MAX_VARBINDS // len(current))
        for _ in range(reps):
            done = True
            for i, oid in enumerate(current):
                row = self.tree.next_ber(oid)
                if row is None:
                    out.append(ber.varbind(oid, END_OF_MIB))
                else:
                    out.append(ber.varbind(row[0], row[1]))
                    current[i] = row[0]
                    done = False
            if done:
                break  # every repeater is past the end of the MIB
        return out

    @staticmethod
    def _response(community: bytes, request_id: int, status: int, index: int,
                  varbinds: bytes) -> bytes:
        pdu = (ber.tlv(ber.INTEGER, ber.int_body(request_id))
               + ber.tlv(ber.INTEGER, ber.int_body(status))
               + ber.tlv(ber.INTEGER, ber.int_body(index))
               + ber.tlv(ber.SEQUENCE, varbinds))
        return ber.tlv(ber.SEQUENCE, ber.tlv(ber.INTEGER, b"\x01")
                       + ber.tlv(ber.OCTET_STRING, community) + ber.tlv(RESPONSE, pdu))
