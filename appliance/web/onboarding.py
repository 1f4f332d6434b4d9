"""The onboarding checklist and the report card in words, in the reader's language (the page,
the API and ``ixpctl member onboarding`` say the same).

monitor/onboarding.py gives each check's findings as codes and values; here each code has
the sentence of what was seen and what the member (or the operator) must do about it.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

TITLES = {
    "link": _l("Link up on the member's port"),
    "macs": _l("Only the member's MAC address seen on the port"),
    "hygiene": _l("No frame dropped by the peering-LAN rules"),
    "neighbours": _l("ARP and ND answered for the member's addresses"),
    "bgp": _l("BGP sessions with the route server Established"),
    "routes": _l("Every announced prefix passes RPKI and IRR"),
    "max_prefix": _l("Prefix count within max-prefix"),
}

# What was found, and what to do: %(...)s are the finding's values.
FINDINGS = {
    "port_missing": _l("Port %(port)s does not exist on the box. The operator must check "
                       "the port name in the member's settings."),
    "no_link": _l("Port %(port)s has no link. Check the cable or fibre and that the router's "
                  "interface is enabled (no shutdown), with the right speed and optics."),
    "foreign_mac": _l("The switch learnt MAC %(mac)s on port %(port)s, which is not a "
                      "registered MAC of this member. Send only from the router's registered "
                      "MAC (no other device, no bridging, no virtual MAC), or ask the operator "
                      "to register it."),
    "wrong_source_mac": _l("%(packets)s frame(s) from another MAC address were dropped on "
                           "port %(port)s (the last %(minutes)s minute(s) ago). Connect only "
                           "the router with the registered MAC."),
    "dropped": _l("Port %(port)s: %(packets)s frame(s) dropped as \"%(reason)s\" (the last "
                  "%(minutes)s minute(s) ago). Turn that off on the router's interface; the "
                  "check turns green after a quiet period without drops."),
    "no_answer": _l("Nobody answered %(protocol)s for %(address)s. Configure %(address)s on "
                    "the router's interface facing the exchange."),
    "probe_failed": _l("The box could not ask on the peering LAN who answers for the "
                       "member's addresses (%(reason)s). The operator should look at the "
                       "box's status page."),
    "answer_from_other_mac": _l("%(address)s is answered (%(protocol)s) from MAC %(mac)s, "
                                "not the registered MAC. Use the registered MAC, or remove "
                                "the address from the other device."),
    "rs_not_running": _l("The route server does not run. The operator must start it "
                         "(status page)."),
    "no_session": _l("The route server has no session for %(address)s (%(family)s). The "
                     "operator must apply the member's configuration."),
    "session_down": _l("The %(family)s session with %(address)s is not Established (%(state)s). "
                       "Configure a BGP neighbour to the route server with the exchange's "
                       "route-server ASN, from %(address)s."),
    "waits_for_bgp": _l("Checked once the BGP sessions are Established."),
    "rpki_invalid": _l("%(prefix)s is RPKI Invalid: a ROA covers it, but not with this origin "
                       "AS or this length. Fix the ROA at your RIR, or stop announcing it."),
    "not_in_irr": _l("%(prefix)s is not registered in the IRR for %(as_set)s. Register a "
                     "route object (or add the origin to the AS-SET), or stop announcing it."),
    "no_irr_data": _l("The box has no IRR data for %(as_set)s yet, so nothing was checked. "
                      "The operator must load the IRR data (Members page, IRR data)."),
    "over_limit": _l("The %(family)s session with %(address)s sent %(count)s prefixes, over "
                     "the limit of %(limit)s. Announce fewer prefixes (aggregate), or ask the "
                     "operator to raise max-prefix."),
}

NOTES = {
    "macs_registered": _l("Registered MAC address(es): %(macs)s."),
    "quiet_period": _l("Drops of the last %(minutes)s minutes count; the quarantine's own "
                       "drops do not."),
    "no_route_server": _l("The member does not peer with the route server: not checked."),
    "no_ipv6": _l("The member has no IPv6 address on the peering LAN."),
    "no_ipv4": _l("The member has no IPv4 address on the peering LAN."),
    "nothing_announced": _l("The member announces no prefix yet."),
    "announced": _l("%(count)s prefix(es) announced."),
    "limits": _l("%(family)s: %(count)s accepted of at most %(limit)s."),
}


def _values(finding: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in finding.items() if k != "code"}
    if isinstance(out.get("macs"), list):
        out["macs"] = ", ".join(out["macs"])
    if "reason" in out:
        from appliance.web.filters import DROP_REASONS

        out["reason"] = str(DROP_REASONS.get(out["reason"], out["reason"]))
    return out


def say(finding: dict[str, Any], table: dict[str, Any] = FINDINGS) -> str:
    """One finding or note in the reader's language."""
    template = table.get(finding["code"])
    if template is None:
        return str(finding["code"])
    return str(template) % _values(finding)  # the catalogue's words, then the values


def in_words(result: dict[str, Any]) -> dict[str, Any]:
    """The checklist with ``title`` on each check and ``text`` on each finding and note."""
    checks = []
    for c in result["checks"]:
        checks.append({**c, "title": str(TITLES.get(c["check"], c["check"])),
                       "findings": [{**f, "text": say(f)} for f in c["findings"]],
                       "notes": [{**n, "text": say(n, NOTES)} for n in c["notes"]]})
    return {**result, "checks": checks}
