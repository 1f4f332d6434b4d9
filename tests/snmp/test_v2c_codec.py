"""The v2c fast path, cross-checked with pysnmp's own BER encoder and decoder."""

from __future__ import annotations

import ipaddress
import types

import pytest
from pyasn1.codec.ber import decoder, encoder
from pysnmp.proto import api, rfc1902

from appliance.snmp import ber
from appliance.snmp.access import AccessPolicy
from appliance.snmp.oidstore import ObjectTree, Section
from appliance.snmp.settings import Community
from appliance.snmp.v2c import V2cResponder, peek_version

P = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
ROOT = (1, 3, 6, 1, 2, 1, 99)
VALUES = [
    rfc1902.Integer32(-5), rfc1902.OctetString(b"\x00\xffbinary"), rfc1902.ObjectIdentifier(
        (1, 3, 6, 1, 4, 1, 8072, 3, 2, 10)), rfc1902.IpAddress("192.0.2.1"),
    rfc1902.Counter32(4294967295), rfc1902.Gauge32(2**31), rfc1902.TimeTicks(123456),
    rfc1902.Counter64(2**64 - 1), rfc1902.Unsigned32(7), rfc1902.OctetString(""),
]


def responder():
    rows = [((*ROOT, i + 1, 0), v) for i, v in enumerate(VALUES)]
    tree = ObjectTree([Section(ROOT, lambda: rows)])
    policy = AccessPolicy([Community("public-ro", (ipaddress.ip_network("127.0.0.0/8"),))])
    return V2cResponder(types.SimpleNamespace(tree=tree), policy), policy


def request(pdu, community="public-ro", version=1):
    msg = P.Message()
    P.apiMessage.set_defaults(msg)
    P.apiMessage.set_community(msg, community)
    P.apiMessage.set_pdu(msg, pdu)
    msg.setComponentByPosition(0, version)
    return encoder.encode(msg)


def pdu_of(kind, oids, **bulk):
    pdu = kind()
    P.apiPDU.set_defaults(pdu)
    P.apiPDU.set_request_id(pdu, 4242)
    if bulk:
        P.apiBulkPDU.set_non_repeaters(pdu, bulk["n"])
        P.apiBulkPDU.set_max_repetitions(pdu, bulk["m"])
    P.apiPDU.set_varbinds(pdu, [(o, P.null) for o in oids])
    return pdu


def decode(reply):
    msg, rest = decoder.decode(reply, asn1Spec=P.Message())
    assert not rest
    pdu = P.apiMessage.get_pdu(msg)
    assert P.apiPDU.get_request_id(pdu) == 4242
    return pdu, [(tuple(o), v) for o, v in P.apiPDU.get_varbinds(pdu)]


def test_get_returns_every_type_exactly():
    r, _ = responder()
    oids = [(*ROOT, i + 1, 0) for i in range(len(VALUES))]
    pdu, vbs = decode(r.handle(request(pdu_of(P.GetRequestPDU, oids)), "127.0.0.1"))
    assert int(P.apiPDU.get_error_status(pdu)) == 0
    for (oid, got), want in zip(vbs, VALUES, strict=True):
        assert got.tagSet == want.tagSet, oid
        assert got == want, oid


def test_get_missing_and_next_past_the_end():
    r, _ = responder()
    _, vbs = decode(r.handle(request(pdu_of(P.GetRequestPDU, [(*ROOT, 1, 1), (1, 3, 6, 1, 5)])),
                             "127.0.0.1"))
    assert [v.__class__.__name__ for _, v in vbs] == ["NoSuchInstance", "NoSuchObject"]
    _, vbs = decode(r.handle(request(pdu_of(P.GetNextRequestPDU, [(*ROOT, 10, 0)])),
                             "127.0.0.1"))
    assert vbs[0][1].__class__.__name__ == "EndOfMibView"


def test_getbulk_non_repeaters_and_repetitions():
    r, _ = responder()
    pdu = pdu_of(P.GetBulkRequestPDU, [(*ROOT,), (*ROOT, 5)], n=1, m=3)
    _, vbs = decode(r.handle(request(pdu), "127.0.0.1"))
    assert [o for o, _ in vbs] == [(*ROOT, 1, 0), (*ROOT, 5, 0), (*ROOT, 6, 0), (*ROOT, 7, 0)]


def test_set_is_refused_with_not_writable():
    r, _ = responder()
    pdu = P.SetRequestPDU()
    P.apiPDU.set_defaults(pdu)
    P.apiPDU.set_request_id(pdu, 4242)
    P.apiPDU.set_varbinds(pdu, [((*ROOT, 2, 0), rfc1902.OctetString("x"))])
    out, _ = decode(r.handle(request(pdu), "127.0.0.1"))
    assert int(P.apiPDU.get_error_status(out)) == 17  # notWritable


@pytest.mark.parametrize(("community", "source", "version"), [
    ("wrong-one", "127.0.0.1", 1), ("public-ro", "192.0.2.7", 1), ("public-ro", "127.0.0.1", 0),
])
def test_refusals_get_no_answer(community, source, version):
    r, policy = responder()
    msg = request(pdu_of(P.GetRequestPDU, [(*ROOT, 1, 0)]), community, version)
    assert r.handle(msg, source) is None
    assert policy.refusals == 1


@pytest.mark.parametrize("junk", [b"", b"\x30", b"\x30\x05\x02\x01\x01\x04", b"\xff" * 20,
                                  b"\x30\x84\xff\xff\xff\xff"])
def test_malformed_datagrams_are_dropped(junk):
    r, _ = responder()
    assert r.handle(junk, "127.0.0.1") is None


def test_peek_version_and_oid_round_trip():
    assert peek_version(request(pdu_of(P.GetRequestPDU, [(*ROOT, 1, 0)]))) == 1
    assert peek_version(b"junk") is None
    for oid in [(1, 3, 6, 1), (2, 999, 1), (1, 3, 6, 1, 4, 1, 4294967295, 0)]:
        assert ber.decode_oid(ber.oid_body(oid)) == oid


def test_oids_beyond_rfc2578_bounds_are_refused():
    # a 60 kB sub-identifier once cost the agent 0.6 s of big-integer work per packet
    huge = bytes([0x2B]) + b"\xff" * 60_000 + b"\x7f"
    with pytest.raises(ber.BerError, match="32 bits"):
        ber.decode_oid(huge)
    with pytest.raises(ber.BerError, match="32 bits"):
        ber.decode_oid(ber.oid_body((1, 3, 4294967296)))
    longest = (1, 3, *([1] * 126))
    assert ber.decode_oid(ber.oid_body(longest)) == longest
    with pytest.raises(ber.BerError, match="128 sub-identifiers"):
        ber.decode_oid(ber.oid_body((*longest, 1)))
    assert ber.decode_oid(ber.oid_body((2, 4294967295))) == (2, 4294967295)


def test_a_request_with_a_huge_oid_arc_gets_no_answer():
    r, _ = responder()
    assert r.handle(request(pdu_of(P.GetRequestPDU, [(*ROOT, 1, 0)])), "127.0.0.1") is not None
    # a well-formed message whose OID has a 4 kB sub-identifier: dropped, never decoded
    forged = request(pdu_of(P.GetRequestPDU, [(*ROOT, 1 << 30000)]))
    assert len(forged) > 3000
    assert r.handle(forged, "127.0.0.1") is None
