"""BGP4-MIB (RFC 4273) for IPv4 sessions and the draft BGP4V2-MIB peer tables for all sessions.

BGP4V2 sits where FRR serves it (1.3.6.1.4.1.7336.4.2.1) with FRR's index layout
(instance 1, address type, address octets), so tools that already read FRR's IPv6 sessions
read ours the same way.

BIRD 2 counts routes, not BGP messages: the update columns carry route announcements plus
withdrawals, and the total-message columns the same numbers (a lower bound: keepalives are not
counted anywhere in BIRD's CLI).
"""

from __future__ import annotations

import ipaddress
import time
from datetime import datetime

from pysnmp.proto import rfc1902

from appliance.snmp.bgp_model import BGP_STATES, BgpPeer, BgpSnapshot, BgpSource
from appliance.snmp.oidstore import Row, Section, each_item, table_cells
from appliance.snmp.text import SNMP_ADMIN_STRING, display_string

BGP4 = (1, 3, 6, 1, 2, 1, 15)
BGP_PEER_ENTRY = (*BGP4, 3, 1)
BGP4V2 = (1, 3, 6, 1, 4, 1, 7336, 4, 2, 1)
V2_PEER_ENTRY = (*BGP4V2, 1, 2, 1)
V2_TIMES_ENTRY = (*BGP4V2, 1, 4, 1)
AS_TRANS = 23456  # RFC 6793: what a 2-octet field shows for a 4-octet AS
M32 = 1 << 32
BGP4_NAME = "BGP4-MIB"
BGP4V2_NAME = "BGP4V2-MIB"


def _as16(asn: int | None) -> int:
    return 0 if asn is None else (asn if asn <= 65535 else AS_TRANS)


def _ip4(text: str | None) -> rfc1902.IpAddress:
    try:
        return rfc1902.IpAddress(str(ipaddress.IPv4Address(text or "0.0.0.0")))
    except ValueError:
        return rfc1902.IpAddress("0.0.0.0")


def _label(peer: BgpPeer) -> str:
    return f"{peer.name} ({peer.remote_address})"


def _state(peer: BgpPeer) -> rfc1902.Integer32:
    return rfc1902.Integer32(BGP_STATES.index(peer.state) + 1)


def _established_seconds(peer: BgpPeer, now: datetime) -> int:
    # RFC 4273: time in (or since) Established; we only know it while established.
    if peer.state != "established" or peer.since is None:
        return 0
    return max(int((now - peer.since).total_seconds()), 0)


def bgp4_rows(snap: BgpSnapshot, now: datetime | None = None) -> list[Row]:
    """bgpVersion, bgpLocalAs, bgpIdentifier and bgpPeerTable (IPv4 sessions only)."""
    now = now or datetime.now()
    out = table_cells(BGP4_NAME, BGP4, (0,), {
        1: (rfc1902.OctetString, b"\x10"),  # bit 3 set: version 4
        2: (rfc1902.Integer32, _as16(snap.local_as)),
        4: (_ip4, snap.router_id),
    })

    def row(p: BgpPeer) -> list[Row]:
        try:
            addr = ipaddress.IPv4Address(p.remote_address)
        except ValueError:
            return []  # IPv6 sessions are in BGP4V2 only: BGP4-MIB indexes by IpAddress
        established = _established_seconds(p, now)
        return table_cells(BGP4_NAME, BGP_PEER_ENTRY, tuple(addr.packed), {
            1: (_ip4, p.remote_id),
            2: (_state, p),
            3: (rfc1902.Integer32, 2 if p.admin_up else 1),  # start(2) / stop(1)
            4: (rfc1902.Integer32, 4 if p.state == "established" else 0),
            5: (_ip4, p.local_address),
            7: (rfc1902.IpAddress, str(addr)),
            9: (rfc1902.Integer32, _as16(p.remote_as)),
            10: (rfc1902.Counter32, p.in_updates % M32),
            11: (rfc1902.Counter32, p.out_updates % M32),
            12: (rfc1902.Counter32, p.in_updates % M32),
            13: (rfc1902.Counter32, p.out_updates % M32),
            14: (rfc1902.OctetString, b"\x00\x00"),
            16: (rfc1902.Gauge32, established),
            18: (rfc1902.Integer32, p.hold_time),
            19: (rfc1902.Integer32, p.keepalive),
        })

    return out + each_item(BGP4_NAME, snap.peers, row, _label)


def bgp4v2_rows(snap: BgpSnapshot, now: datetime | None = None) -> list[Row]:
    """bgp4V2PeerTable and bgp4V2PeerEventTimesTable for IPv4 and IPv6 sessions."""
    now = now or datetime.now()

    def row(p: BgpPeer) -> list[Row]:
        try:
            addr = ipaddress.ip_address(p.remote_address)
        except ValueError:
            return []
        kind = 1 if addr.version == 4 else 2  # InetAddressType ipv4(1) / ipv6(2)
        i = (1, kind, *addr.packed)
        local = b""
        if p.local_address:
            try:
                local = ipaddress.ip_address(p.local_address).packed
            except ValueError:
                local = b""
        out = table_cells(BGP4V2_NAME, V2_PEER_ENTRY, i, {
            1: (rfc1902.Unsigned32, 1),
            2: (rfc1902.Integer32, kind if local else 0),
            3: (rfc1902.OctetString, local),
            4: (rfc1902.Integer32, kind),
            5: (rfc1902.OctetString, addr.packed),
            7: (rfc1902.Unsigned32, p.local_as or snap.local_as or 0),
            8: (rfc1902.OctetString, _ip4(snap.router_id).asOctets()),
            10: (rfc1902.Unsigned32, p.remote_as),
            11: (rfc1902.OctetString, _ip4(p.remote_id).asOctets()),
            12: (rfc1902.Integer32, 2 if p.admin_up else 1),  # running(2) / halted(1)
            13: (_state, p),
            14: (display_string, p.description, SNMP_ADMIN_STRING),
        })
        return out + table_cells(BGP4V2_NAME, V2_TIMES_ENTRY, i, {
            1: (rfc1902.Gauge32, _established_seconds(p, now)),
            2: (rfc1902.Gauge32, 0),
        })

    return each_item(BGP4V2_NAME, snap.peers, row, _label)


class _Cached:
    """One BIRD query shared by the two sections (they refresh at nearly the same time)."""

    def __init__(self, source: BgpSource, ttl: float) -> None:
        self.source = source
        self.ttl = ttl
        self.snap: BgpSnapshot | None = None
        self.stamp = 0.0

    def get(self) -> BgpSnapshot:
        now = time.monotonic()
        if self.snap is None or now - self.stamp >= self.ttl:
            self.snap, self.stamp = self.source(), now
        return self.snap


def bgp_sections(source: BgpSource, ttl: float = 10.0) -> list[Section]:
    """The BGP4-MIB and BGP4V2-MIB sections, fed from ``source``."""
    cache = _Cached(source, ttl / 2)
    return [Section(BGP4, lambda: bgp4_rows(cache.get()), ttl=ttl, name=BGP4_NAME),
            Section(BGP4V2, lambda: bgp4v2_rows(cache.get()), ttl=ttl, name=BGP4V2_NAME)]
