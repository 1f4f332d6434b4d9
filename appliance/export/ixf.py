"""The Euro-IX IX-F Member Export, schema version 1.0 (what PeeringDB and IXP Manager import).

Pure: the timestamp comes from the caller. Member MAC addresses are left out of this public
document on purpose (they help nobody outside and identify the member's hardware).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from appliance.config.model import IXPConfig, Member

SCHEMA_VERSION = "1.0"
IXP_ID = 1  # this export describes one exchange; the number is ours to choose and keep
VLAN_ID = 1  # likewise for the peering LAN


def _ixp(cfg: IXPConfig) -> dict[str, Any]:
    ident, lan = cfg.identity, cfg.peering_lan
    vlan: dict[str, Any] = {"id": VLAN_ID, "name": f"{ident.short_name} peering LAN",
                            "ipv4": {"prefix": str(lan.ipv4_prefix.network_address),
                                     "mask_length": lan.ipv4_prefix.prefixlen}}
    if lan.ipv6_prefix is not None:
        vlan["ipv6"] = {"prefix": str(lan.ipv6_prefix.network_address),
                        "mask_length": lan.ipv6_prefix.prefixlen}
    ixp: dict[str, Any] = {
        "ixp_id": IXP_ID,
        "ixf_id": ident.ixf_id or 0,  # 0: not (yet) registered in the IX-F database
        "shortname": ident.short_name,
        "name": ident.name,
        "country": ident.country,
        "support_email": ident.contact_email,
        "vlan": [vlan],
    }
    if ident.url:
        ixp["url"] = ident.url
    if ident.peeringdb_ix_id:
        ixp["peeringdb_id"] = ident.peeringdb_ix_id
    return ixp


def _family(member: Member, fam: str, rs_present: bool) -> dict[str, Any] | None:
    addrs = getattr(member, fam)
    if not addrs:
        return None
    entry: dict[str, Any] = {"address": str(addrs[0]),
                             "routeserver": member.route_server and rs_present,
                             "max_prefix": getattr(member.max_prefix, fam)}
    if member.as_set:
        entry["as_macro"] = member.as_set
    return entry


def _member(cfg: IXPConfig, entries: list[Member]) -> dict[str, Any]:
    first = entries[0]
    rs = cfg.route_server
    connections = []
    for m in entries:
        vlan: dict[str, Any] = {"vlan_id": VLAN_ID}
        for fam in ("ipv4", "ipv6"):
            entry = _family(m, fam, getattr(rs, fam) is not None)
            if entry:
                vlan[fam] = entry
        connections.append({"ixp_id": IXP_ID,
                            "state": "connected" if m.quarantine else "active",
                            "vlan_list": [vlan]})
    out: dict[str, Any] = {"asnum": first.asn, "member_type": "peering", "name": first.name,
                           "connection_list": connections}
    emails = sorted({str(m.noc_email) for m in entries if m.noc_email})
    if emails:
        out["contact_email"] = emails
    return out


def member_export(cfg: IXPConfig, timestamp: datetime) -> dict[str, Any]:
    """The whole IX-F document for ``cfg``; members with several routers appear once."""
    by_asn: dict[int, list[Member]] = {}
    for m in cfg.members:
        by_asn.setdefault(m.asn, []).append(m)
    return {
        "version": SCHEMA_VERSION,
        "timestamp": timestamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "ixp_list": [_ixp(cfg)],
        "member_list": [_member(cfg, entries) for _asn, entries in sorted(by_asn.items())],
    }
