"""The route server's community scheme: one table that the templates, docs and tests share.

Large communities are ``(RS_ASN, function, value)``; standard communities exist only when the
route server's ASN fits in 16 bits. ``peer`` is the ASN of the member a control community is
aimed at; in standard communities the route server's own ASN stands for "every member".
"""

from __future__ import annotations

from dataclasses import dataclass

# Large-community functions (the middle number).
LC_DO_NOT_ANNOUNCE = 0  # (RS, 0, peer); (RS, 0, 0) = to nobody
LC_ANNOUNCE_ONLY = 1  # (RS, 1, peer): with (RS, 0, 0), only to the peers so tagged
LC_PREPEND = {1: 101, 2: 102, 3: 103}  # (RS, 10x, peer); peer 0 = to everybody
LC_BLACKHOLE = 666  # (RS, 666, 0), same meaning as BLACKHOLE 65535:666
LC_ADD_NO_EXPORT = 65281  # (RS, 65281, peer): add NO_EXPORT towards peer; peer 0 = everybody
LC_INFO = 1000  # (RS, 1000, n): informational tags added by the route server
LC_REJECT = 1101  # (RS, 1101, n): why a route was filtered

# Standard communities with a fixed first half.
STD_PREPEND = {1: 65501, 2: 65502, 3: 65503}  # (6550x, peer); peer = RS = to everybody
STD_ADD_NO_EXPORT = 65281  # (65281, peer): add NO_EXPORT towards peer; peer = RS = everybody
BLACKHOLE = (65535, 666)  # RFC 7999
GRACEFUL_SHUTDOWN = (65535, 0)  # RFC 8326
NO_EXPORT = (65535, 65281)


@dataclass(frozen=True)
class Reason:
    """A reject reason or an informational tag: its number and what it tells a member."""

    code: int
    key: str
    text: str


REJECT_REASONS: tuple[Reason, ...] = (
    Reason(1, "bogon_prefix", "the prefix is a bogon (private, reserved or documentation space)"),
    Reason(2, "bogon_asn", "the AS path contains a bogon ASN (private, reserved or 23456)"),
    Reason(3, "prefix_length", "the prefix is shorter or longer than the allowed lengths"),
    Reason(4, "default_route", "the route is a default route (0.0.0.0/0 or ::/0)"),
    Reason(5, "as_path_too_long", "the AS path is longer than the limit"),
    Reason(6, "first_as", "the first AS in the path is not the member's own ASN"),
    Reason(7, "next_hop", "the next hop is not an address of the member that announced it"),
    Reason(8, "transit_free_asn", "the AS path contains a transit-free network's ASN"),
    Reason(9, "rpki_invalid", "RPKI Invalid: a ROA covers the prefix, not with this origin/length"),
    Reason(10, "irr_origin", "the origin ASN is not in the member's AS-SET"),
    Reason(11, "irr_prefix", "the prefix is not registered for the member's AS-SET"),
    Reason(12, "blackhole_not_authorised",
           "a blackhole request not covered by the member's registered prefixes (or disabled)"),
    Reason(13, "empty_as_path", "the AS path is empty"),
    Reason(14, "no_route_server_asn", "the AS path contains the route server's own ASN"),
    Reason(15, "not_root_service_prefix",
           "a hosted root instance may announce only its root server's service prefixes"),
    Reason(16, "as_set", "the AS path contains an AS_SET (an aggregate hides who originated it)"),
    Reason(17, "never_via_route_servers",
           "the AS path contains a network that PeeringDB says is never reached via route servers"),
    Reason(18, "denied_prefix", "the IXP's operator refuses this prefix (deny list)"),
    Reason(19, "denied_asn", "the IXP's operator refuses an ASN in this path (deny list)"),
    Reason(20, "aspa_invalid",
           "ASPA Invalid: an AS in the path does not list the next AS up as its provider"),
)

INFO_TAGS: tuple[Reason, ...] = (
    Reason(1, "rpki_valid", "RPKI Valid"),
    Reason(2, "rpki_unknown", "RPKI NotFound: no ROA covers the prefix"),
    Reason(3, "rpki_invalid_tagged", "RPKI Invalid, accepted as the member's policy only tags"),
    Reason(4, "irr_ok", "origin and prefix are registered in the member's AS-SET"),
    Reason(5, "irr_failed_tagged", "not in the member's AS-SET, accepted because policy only tags"),
    Reason(6, "irr_unknown", "no IRR data for the member yet; IRR was not checked"),
    Reason(7, "blackhole", "a blackhole route accepted from the member (NO_EXPORT added)"),
    Reason(8, "graceful_shutdown", "GRACEFUL_SHUTDOWN: LOCAL_PREF set to 0 on the route server"),
    Reason(9, "irr_by_roa", "not in the member's AS-SET, accepted as a ROA makes it RPKI Valid"),
    Reason(10, "aspa_valid", "ASPA Valid: every AS in the path lists the next AS up as provider"),
    Reason(11, "aspa_unknown", "ASPA Unknown: an AS in the path publishes no ASPA"),
    Reason(12, "aspa_invalid_tagged", "ASPA Invalid, accepted as the member's policy only tags"),
)

REJECT = {r.key: r.code for r in REJECT_REASONS}
INFO = {r.key: r.code for r in INFO_TAGS}


def reject_reason(code: int) -> Reason | None:
    """The reject reason numbered ``code``, for the looking glass."""
    return next((r for r in REJECT_REASONS if r.code == code), None)


def reject_reasons_of(large_communities: list[tuple[int, int, int]], rs_asn: int) -> list[Reason]:
    """The reject reasons a filtered route carries, in code order."""
    codes = sorted({c[2] for c in large_communities if c[0] == rs_asn and c[1] == LC_REJECT})
    return [r for c in codes if (r := reject_reason(c)) is not None]
