"""The scenario lab: who the members are and what each announces, with what must happen.

Reading a case: member ``by`` announces ``ann``; the route server must refuse it with exactly
``reasons`` (reject-reason numbers, see appliance/route_server/communities.py), or accept it,
and then exactly the members in ``to`` receive it, with the AS path, next hop and communities given.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from appliance.config.model import DEFAULT_TRANSIT_FREE_ASNS
from appliance.lab.member_conf import Announce
from appliance.route_server.communities import REJECT
from tests.bird.configs import LAN4, LAN6, config, member

RS = 65000
TRANSIT_FREE_MEMBER = 10003  # m3 plays a transit-free network
NO_EXPORT = (65535, 65281)
BLACKHOLE = (65535, 666)
BLACKHOLE_V4 = str(LAN4[66])  # the IXP's blackhole addresses (route_server.blackhole_ipv4/6)
BLACKHOLE_V6 = str(LAN6[0x66])
M3_RTBH = (10003, 666)

# Member key -> (index in configs.member, ASN, extra model fields)
MEMBERS = {
    "m1": (1, 10001, {"as_set": "AS-M1", "policy": {"roas_as_route_objects": True},
                      "deny": {"prefixes": ["31.1.18.0/23"], "asns": [10089]}}),
    # m2 asks for ADD-PATH (RFC 7911): it receives every path, not only the best.
    "m2": (2, 10002, {"as_set": "AS-M2", "add_paths_tx": True,
                      "policy": {"next_hop": "same_as", "rpki": "tag_only", "irr": "tag_only"}}),
    # The session only comes up with TCP-MD5. AS10003 is on the lab's transit-free list.
    # m3's routers blackhole what carries 10003:666 (its RTBH community).
    # m3's policy has ASPA off.
    "m3": (3, 10003, {"md5_password": "s3cret-m3",
                      "policy": {"graceful_shutdown": False, "aspa": "off"},
                      "blackhole_community": "10003:666"}),
    # m4's router only waits (passive): its sessions come up because the RS connects.
    "m4": (4, 10004, {"max_prefix": {"ipv4": 3, "ipv6": 10}, "active_session": True,
                      "policy": {"max_prefix_action": "block"}}),
    # AS10002's second router; it wants the RS's ASN first in the paths it receives, and
    # its policy refuses ASPA Invalid paths (the IXP's default only tags them).
    "m5": (5, 10002, {"policy": {"next_hop": "same_as", "aspa": "reject_invalid"},
                      "prepend_rs_asn": True}),
    # A hosted L-root instance: only prefixes covering 199.7.83.42 / 2001:500:9f::42, or listed.
    "m6": (6, 20144, {"root_instance": {"letter": "l", "prefixes": ["192.0.47.0/24"]}}),
    # Not a BIRD: tests.bird.raw_bgp, for paths BIRD cannot originate (AS_SET). IPv4 only.
    "m7": (7, 10007, {"ipv6": []}),
    # RFC 8950: one IPv6 session each, carrying IPv4 routes too (IPv6 next hops allowed).
    "m8": (8, 10008, {"ipv4": [], "extended_next_hop": True}),
    "m9": (9, 10009, {"ipv4": [], "extended_next_hop": True}),
}
RAW = frozenset({"m7"})
EXTENDED_NEXT_HOP = frozenset({"m8", "m9"})
ADD_PATHS = frozenset({"m2"})
PREPEND_RS = frozenset({"m5"})  # these receive every path with RS first
ALL = tuple(k for k in MEMBERS if k not in RAW)  # the members whose received routes are read


def addr(key: str) -> str:
    """The member's IPv4 address on the LAN."""
    return str(LAN4[MEMBERS[key][0] + 9])


def lab_config():
    """The IXP configuration the route server of the lab is rendered from."""
    return config([member(i, asn, **extra) for i, asn, extra in MEMBERS.values()], rs_asn=RS,
                  rpki_validators=[{"host": "127.0.0.1", "port": 3323}],
                  blackhole_ipv4=BLACKHOLE_V4, blackhole_ipv6=BLACKHOLE_V6,
                  policy={"transit_free_asns": [*DEFAULT_TRANSIT_FREE_ASNS, TRANSIT_FREE_MEMBER],
                          "deny": {"prefixes": ["31.1.17.0/24", "2a0c:1:17::/48"],
                                   "asns": [10088]}})


@dataclass(frozen=True)
class Case:
    """One announcement and its expected outcome."""

    id: str
    by: str
    ann: Announce
    reasons: frozenset[int] = frozenset()
    to: tuple[str, ...] | None = None  # None: every member of another AS
    path: tuple[int, ...] | None = None  # None: the announced path
    nh: str | None = None  # None: the announcer's address (or ``via``)
    communities: frozenset[tuple[int, int]] = frozenset()
    large_info: frozenset[int] = frozenset()  # (RS, 1000, n) tags the receivers must see
    no_info: frozenset[int] = frozenset()  # (RS, 1000, n) tags the receivers must not see
    extra: dict[str, object] = field(default_factory=dict)

    def receivers(self) -> tuple[str, ...]:
        """Members that must receive the route."""
        if self.reasons:
            return ()
        if self.to is not None:
            return self.to
        own = MEMBERS[self.by][1]
        return tuple(k for k in ALL if MEMBERS[k][1] != own)


def _r(*keys: str) -> frozenset[int]:
    return frozenset(REJECT[k] for k in keys)


P1 = (10001,)
P7 = (10007,)
P8 = (10008,)
LROOT = (20144,)
CASES: tuple[Case, ...] = (
    # ---- accepted, untouched ----
    # (a path of the member alone is ASPA Valid: nobody is above the member but the RS)
    Case("plain", "m1", Announce("31.1.1.0/24", P1), large_info=frozenset({2, 4, 10})),
    Case("plain_v6", "m1", Announce("2a0c:1:1::/48", P1)),
    Case("customer_origin", "m1", Announce("31.1.11.0/24", (10001, 10011))),
    # ---- import policy ----
    Case("bogon_prefix", "m1", Announce("192.168.10.0/24", P1),
         _r("bogon_prefix", "irr_prefix")),
    Case("bogon_prefix_v6", "m1", Announce("2001:db8:1::/48", P1),
         _r("bogon_prefix", "irr_prefix")),
    Case("bogon_asn", "m1", Announce("31.1.2.0/24", (10001, 64512, 10011)), _r("bogon_asn")),
    Case("as_trans", "m1", Announce("31.1.12.0/24", (10001, 23456, 10011)), _r("bogon_asn")),
    Case("too_long", "m1", Announce("31.1.3.128/25", P1), _r("prefix_length", "irr_prefix")),
    Case("too_long_v6", "m1", Announce("2a0c:1:3::/56", P1), _r("prefix_length", "irr_prefix")),
    Case("too_short", "m1", Announce("30.0.0.0/7", P1), _r("prefix_length", "irr_prefix")),
    Case("default", "m1", Announce("0.0.0.0/0", P1), _r("default_route", "irr_prefix")),
    Case("path_too_long", "m1", Announce("31.1.4.0/24", (10001,) * 33), _r("as_path_too_long")),
    Case("first_as", "m1", Announce("31.1.5.0/24", (10011,)), _r("first_as")),
    Case("next_hop", "m1", Announce("31.1.6.0/24", P1, via=str(LAN4[99])), _r("next_hop")),
    Case("transit_free", "m1", Announce("31.1.7.0/24", (10001, 174, 10011)),
         _r("transit_free_asn")),
    Case("transit_free_other_listed", "m1", Announce("31.1.15.0/24", (10001, 10003, 10011)),
         _r("transit_free_asn")),
    Case("transit_free_member_prepends", "m3", Announce("31.3.2.0/24", (10003, 10003, 10033))),
    Case("transit_free_member_leaks", "m3", Announce("31.3.3.0/24", (10003, 3356, 10033)),
         _r("transit_free_asn")),
    # PeeringDB flags AS10066 (and AS10002, a member: its own ASN is no leak) never via RS
    Case("never_via_route_servers", "m1", Announce("31.1.16.0/24", (10001, 10066, 10011)),
         _r("never_via_route_servers")),
    Case("never_via_rs_member_itself", "m2", Announce("31.2.3.0/24", (10002, 10002))),
    # ---- the operator's deny lists: global, and m1's own (31.1.18.0/23, AS10089) ----
    Case("denied_prefix", "m1", Announce("31.1.17.0/24", P1), _r("denied_prefix")),
    Case("denied_prefix_v6", "m1", Announce("2a0c:1:17::/48", P1), _r("denied_prefix")),
    Case("denied_prefix_member", "m1", Announce("31.1.19.0/24", P1), _r("denied_prefix")),
    Case("denied_asn", "m1", Announce("31.1.38.0/24", (10001, 10088, 10011)), _r("denied_asn")),
    Case("denied_asn_member", "m1", Announce("31.1.39.0/24", (10001, 10089, 10011)),
         _r("denied_asn")),
    Case("member_deny_list_is_its_own", "m2", Announce("31.1.18.0/24", (10002, 10089)),
         large_info=frozenset({5})),
    Case("bogon_teredo", "m1", Announce("2001:0:1::/48", P1), _r("bogon_prefix", "irr_prefix")),
    Case("bogon_amt", "m1", Announce("2001:3::/32", P1), _r("bogon_prefix", "irr_prefix")),
    Case("bogon_orchid2", "m1", Announce("2001:20::/28", P1), _r("bogon_prefix", "irr_prefix")),
    Case("rpki_valid", "m1", Announce("31.1.8.0/24", P1), large_info=frozenset({1, 4})),
    Case("rpki_invalid", "m1", Announce("31.1.9.0/24", P1), _r("rpki_invalid")),
    Case("rpki_invalid_v6", "m1", Announce("2a0c:1:9::/48", P1), _r("rpki_invalid")),
    Case("irr_origin", "m1", Announce("31.1.10.0/24", (10001, 10077)), _r("irr_origin")),
    Case("irr_prefix", "m1", Announce("31.9.0.0/24", P1), _r("irr_prefix")),
    # m1 counts ROAs as route objects: 31.9.9.0/24 is in no IRR entry, but a ROA covers it
    Case("roa_as_route_object", "m1", Announce("31.9.9.0/24", P1), large_info=frozenset({1, 9})),
    Case("roa_as_route_object_not_for_blackholes", "m1",
         Announce("31.9.9.1/32", P1, communities=(BLACKHOLE,)), _r("blackhole_not_authorised")),
    Case("med_untouched", "m1", Announce("31.1.14.0/24", P1, med=50), extra={"med": 50}),
    Case("forged_reject_tag", "m1", Announce("31.1.13.0/24", P1, large=((RS, 1101, 9),))),
    # ---- ASPA (records in tests/fixtures/bird/vrps.json): AS10041 names AS10001 and
    # AS10002 as providers, AS10045 names AS10041, AS10042 names only AS10003 (m3), AS10043
    # publishes "no providers"; AS10044 publishes nothing. m5 rejects Invalid, m1 and m2
    # follow the default (tag only), m3 has ASPA off. (m5 has no IRR data: not IRR-checked.)
    Case("aspa_valid", "m5", Announce("31.5.45.0/24", (10002, 10041)),
         large_info=frozenset({10})),
    Case("aspa_valid_two_hops", "m5", Announce("31.5.46.0/24", (10002, 10041, 10045)),
         large_info=frozenset({10})),
    Case("aspa_valid_prepended", "m5", Announce("31.5.47.0/24", (10002, 10002, 10041, 10041)),
         large_info=frozenset({10})),
    # m3's customer AS10042 reaches the RS through AS10002: a leak
    Case("aspa_invalid_leak", "m5", Announce("31.5.48.0/24", (10002, 10042)),
         _r("aspa_invalid")),
    Case("aspa_invalid_no_providers", "m5", Announce("31.5.49.0/24", (10002, 10043)),
         _r("aspa_invalid")),
    Case("aspa_unknown", "m5", Announce("31.5.50.0/24", (10002, 10044)),
         large_info=frozenset({11})),
    # a hop without ASPA does not hide a leak nearer the origin
    Case("aspa_invalid_behind_unknown", "m5", Announce("31.5.51.0/24", (10002, 10044, 10042)),
         _r("aspa_invalid")),
    Case("aspa_invalid_tag_only", "m2", Announce("31.2.4.0/24", (10002, 10042)),
         large_info=frozenset({12})),
    Case("aspa_valid_tag_only", "m2", Announce("31.2.5.0/24", (10002, 10041)),
         large_info=frozenset({10})),
    Case("aspa_off", "m3", Announce("31.3.4.0/24", (10003, 10043)),
         no_info=frozenset({10, 11, 12})),
    # ---- AS_SET in the path (m7 is a raw BGP speaker) ----
    Case("raw_plain", "m7", Announce("31.7.1.0/24", P7), large_info=frozenset({2, 6})),
    Case("as_set_aggregate", "m7", Announce("31.7.2.0/24", P7, as_set=(10071, 10072)),
         _r("as_set")),
    Case("as_set_single_mid_path", "m7",
         Announce("31.7.3.0/24", P7, as_set=(10071,), after_set=(10073,)), _r("as_set")),
    # ---- RFC 8950: an IPv4 route with an IPv6 next hop reaches only the members whose
    # session can carry one (m9); the next-hop check applies to m8's IPv6 address ----
    Case("rfc8950", "m8", Announce("31.8.1.0/24", P8), to=("m9",), nh=str(LAN6[8 + 9]),
         large_info=frozenset({2, 6})),
    Case("rfc8950_next_hop_not_own", "m8", Announce("31.8.2.0/24", P8, via=str(LAN6[9 + 9])),
         _r("next_hop")),
    # ---- tag-only policies (m2) ----
    Case("rpki_invalid_tag_only", "m2", Announce("31.1.9.0/24", (10002,)),
         large_info=frozenset({3, 4})),
    Case("irr_tag_only", "m2", Announce("31.22.0.0/24", (10002,)),
         large_info=frozenset({2, 5})),
    # ---- next hop: same-AS policy ----
    Case("same_as_next_hop", "m5", Announce("31.2.1.0/24", (10002,), via=addr("m2")),
         large_info=frozenset({6})),
    Case("other_as_next_hop", "m5", Announce("31.2.2.0/24", (10002,), via=addr("m3")),
         _r("next_hop")),
    # ---- announcement control ----
    Case("not_to_peer", "m1", Announce("31.1.20.0/24", P1, communities=((0, 10002),)),
         to=("m3", "m4", "m6", "m8", "m9")),
    Case("not_to_peer_large", "m1", Announce("31.1.21.0/24", P1, large=((RS, 0, 10003),)),
         to=("m2", "m4", "m5", "m6", "m8", "m9")),
    Case("not_to_any", "m1", Announce("31.1.22.0/24", P1, communities=((0, RS),)), to=()),
    Case("not_to_any_large", "m1", Announce("31.1.28.0/24", P1, large=((RS, 0, 0),)), to=()),
    # Announce only to a peer, as AMS-IX, DE-CIX and arouteserver document it: block
    # everybody, then open the peers wanted; "announce to peer" alone restricts nothing, and
    # "do not announce to peer" always wins for that peer.
    Case("only_to_peer", "m1",
         Announce("31.1.23.0/24", P1, communities=((0, RS), (RS, 10003))), to=("m3",)),
    Case("only_to_peer_large", "m1",
         Announce("31.1.24.0/24", P1, large=((RS, 0, 0), (RS, 1, 10004))), to=("m4",)),
    Case("only_to_two_peers", "m1",
         Announce("31.1.32.0/24", P1, communities=((0, RS), (RS, 10003), (RS, 10004))),
         to=("m3", "m4")),
    Case("only_to_peer_mixed_forms", "m1",
         Announce("31.1.33.0/24", P1, communities=((0, RS),), large=((RS, 1, 20144),)),
         to=("m6",)),
    Case("announce_to_peer_alone", "m1",
         Announce("31.1.34.0/24", P1, communities=((RS, 10003),))),
    Case("announce_to_peer_alone_large", "m1",
         Announce("31.1.35.0/24", P1, large=((RS, 1, 10004),))),
    Case("do_not_announce_wins", "m1",
         Announce("31.1.36.0/24", P1,
                  communities=((0, RS), (RS, 10002), (RS, 10003), (0, 10003))),
         to=("m2", "m5")),
    Case("do_not_announce_wins_large", "m1",
         Announce("31.1.37.0/24", P1,
                  large=((RS, 0, 0), (RS, 1, 10002), (RS, 1, 10004), (RS, 0, 10002))),
         to=("m4",)),
    Case("prepend1_to_peer", "m1", Announce("31.1.25.0/24", P1, communities=((65501, 10003),)),
         extra={"path_for": {"m3": (10001, 10001)}}),
    Case("prepend2_to_any", "m1", Announce("31.1.26.0/24", P1, communities=((65502, RS),)),
         path=(10001,) * 3),
    Case("prepend3_to_peer_large", "m1", Announce("31.1.27.0/24", P1, large=((RS, 103, 10004),)),
         extra={"path_for": {"m4": (10001,) * 4}}),
    Case("prepend1_to_any_large", "m1", Announce("31.1.29.0/24", P1, large=((RS, 101, 0),)),
         path=(10001, 10001)),
    # ---- add NO_EXPORT on request, towards one peer or everybody ----
    Case("add_no_export_to_peer", "m1",
         Announce("31.1.41.0/24", P1, communities=((65281, 10003),)),
         extra={"communities_for": {"m3": {NO_EXPORT}}}),
    Case("add_no_export_to_any", "m1", Announce("31.1.42.0/24", P1, communities=((65281, RS),)),
         communities=frozenset({NO_EXPORT})),
    Case("add_no_export_to_peer_large", "m1",
         Announce("31.1.43.0/24", P1, large=((RS, 65281, 10004),)),
         extra={"communities_for": {"m4": {NO_EXPORT}}}),
    Case("add_no_export_to_any_large", "m1",
         Announce("31.1.44.0/24", P1, large=((RS, 65281, 0),)),
         communities=frozenset({NO_EXPORT})),
    Case("member_communities_kept", "m1",
         Announce("31.1.31.0/24", P1, communities=((10001, 42),), large=((10001, 7, 7),)),
         communities=frozenset({(10001, 42)})),
    # ---- blackhole (RFC 7999) ----
    # Accepted blackholes go to the IXP's blackhole address; m3 also gets its own RTBH community
    Case("blackhole", "m1", Announce("31.1.30.1/32", P1, communities=(BLACKHOLE,)),
         communities=frozenset({BLACKHOLE, NO_EXPORT}), large_info=frozenset({7}),
         nh=BLACKHOLE_V4, extra={"communities_for": {"m3": {BLACKHOLE, NO_EXPORT, M3_RTBH}}}),
    Case("blackhole_large", "m1", Announce("31.1.30.2/32", P1, large=((RS, 666, 0),)),
         communities=frozenset({BLACKHOLE, NO_EXPORT}), nh=BLACKHOLE_V4,
         extra={"communities_for": {"m3": {BLACKHOLE, NO_EXPORT, M3_RTBH}}}),
    Case("blackhole_v6", "m1", Announce("2a0c:1:30::1/128", P1, communities=(BLACKHOLE,)),
         communities=frozenset({BLACKHOLE, NO_EXPORT}), nh=BLACKHOLE_V6,
         extra={"communities_for": {"m3": {BLACKHOLE, NO_EXPORT, M3_RTBH}}}),
    Case("blackhole_not_registered", "m1",
         Announce("31.9.1.1/32", P1, communities=(BLACKHOLE,)), _r("blackhole_not_authorised")),
    Case("blackhole_without_irr", "m3",
         Announce("31.3.1.1/32", (10003,), communities=(BLACKHOLE,)),
         _r("blackhole_not_authorised")),
    # ---- graceful shutdown (RFC 8326): m1's copy loses to m3's ----
    # (only m2, which takes every path with ADD-PATH, receives the losing copy too)
    Case("gshut", "m1", Announce("31.1.40.0/24", P1, communities=((65535, 0),)),
         to=("m2",), communities=frozenset({(65535, 0)}), extra={"gshut_winner": "m3"}),
    Case("gshut_other", "m3", Announce("31.1.40.0/24", (10003,))),
    # m3's policy does not honour graceful shutdown, so 65535:0 is removed, not passed on
    Case("gshut_off_removed", "m3",
         Announce("31.3.40.0/24", (10003,), communities=((65535, 0), (10003, 5))),
         communities=frozenset({(10003, 5)})),
    # ---- hosted root instance (m6): its operator's prefixes only, NO_EXPORT kept ----
    Case("root_prefix", "m6", Announce("199.7.83.0/24", LROOT, communities=(NO_EXPORT,)),
         communities=frozenset({NO_EXPORT})),
    Case("root_prefix_v6", "m6", Announce("2001:500:9f::/48", LROOT, communities=(NO_EXPORT,)),
         communities=frozenset({NO_EXPORT})),
    Case("root_listed_prefix", "m6", Announce("192.0.47.0/24", LROOT)),
    Case("root_other_prefix", "m6", Announce("31.6.6.0/24", LROOT),
         _r("not_root_service_prefix")),
    Case("root_other_prefix_v6", "m6", Announce("2a0c:6:6::/48", LROOT),
         _r("not_root_service_prefix")),
    Case("root_too_specific", "m6", Announce("199.7.83.0/25", LROOT), _r("prefix_length")),
    # ---- m4 announces more than its IPv4 limit of 3 ----
    *(Case(f"over_limit_{i}", "m4", Announce(f"31.4.{i}.0/24", (10004,)), to=())
      for i in range(6)),
)
MAX_PREFIX_MEMBER = "m4"


# Routes the route server must not use: an RS client sends it with OTC already set (RFC 9234: a
# leak, someone upstream was told it is only for their customers). A BIRD with a role never
# sends such a route to a route server, so the raw speaker m7 does.
LEAKS: tuple[tuple[str, Announce], ...] = (
    ("m7", Announce("31.7.60.0/24", P7, otc=10099)),
)


def announcements(key: str) -> list[Announce]:
    """What member ``key`` announces."""
    return [c.ann for c in CASES if c.by == key] + [a for k, a in LEAKS if k == key]
