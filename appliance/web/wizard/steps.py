"""The wizard's steps: which model section each edits, and how each form field maps to it."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l

from appliance.web.forms import FormField, as_bool, as_flag, as_list
from appliance.web.i18n import LANGUAGES


@dataclass(frozen=True)
class Step:
    """One page of the wizard."""

    name: str
    title: str
    intro: str
    section: str
    fields: tuple[FormField, ...] = field(default_factory=tuple)
    help_anchor: str = ""  # its section of docs/setup-wizard.md


def _time_zones() -> tuple[tuple[str, str], ...]:
    """Every IANA time zone this system knows, UTC first."""
    zones = sorted(z for z in zoneinfo.available_timezones() if z != "UTC")
    return (("UTC", "UTC"), *((z, z.replace("_", " ")) for z in zones))


TIME_ZONES = _time_zones()


STEPS: tuple[Step, ...] = (
    Step("identity", _l("Your exchange"),
         _l("How the exchange is named and who runs it. This shows in "
         "the UI, in SNMP and in the IX-F member export."), "identity", (
        FormField("name", _l("Full name"), _l("For example Example Island Internet Exchange."),
                  required=True),
        FormField("short_name", _l("Short name"), _l("An acronym such as EIIX."), required=True),
        FormField("country", _l("Country code"), _l("Two capital letters (ISO 3166), e.g. FJ."),
                  required=True, placeholder="FJ"),
        FormField("city", _l("City")),
        FormField("contact_email", _l("Contact e-mail"),
                  _l("Where members and other IXPs reach you."),
                  kind="email", required=True),
        FormField("url", _l("Web site"), placeholder="https://"),
        # Each language by its own name, as in the footer's switch: whoever sets up the box
        # must find theirs whatever language the page is in now.
        FormField("language", _l("Language of the box"),
                  _l("The web UI's language for anyone whose browser asks for none of these; "
                     "each person can still choose theirs at the foot of every page."),
                  kind="select", choices=tuple(LANGUAGES.items())),
    ), "your-exchange"),
    Step("management", _l("Management network"), _l("The NIC you are using now to reach this page. "
         "The web UI, SSH and SNMP listen only here, never on the peering LAN. A fixed address "
         "is tried first: you confirm it from the new address, or the box goes back to the "
         "old one by itself."), "management", (
        FormField("interface", _l("Management NIC"), _l("The port cabled to your office network.")),
        FormField("hostname", _l("Host name"), _l("For example rs1.ix.example.net.")),
        FormField("ipv4", _l("IPv4 address"), _l("'dhcp', or a fixed address with its length, e.g. "
                  "192.0.2.10/24."), placeholder="dhcp"),
        FormField("ipv4_gateway", _l("IPv4 gateway"), _l("Only with a fixed address.")),
        FormField("ipv6", _l("IPv6 address"), _l("'auto' (from your router's advertisements), "
                  "'none', or a fixed address with its length, e.g. 2001:db8:1::10/64."),
                  placeholder="auto"),
        FormField("ipv6_gateway", _l("IPv6 gateway"),
                  _l("Only with a fixed address; often fe80::1.")),
        FormField("dns", _l("DNS servers"), _l("Separated by spaces; empty means from DHCP."),
                  parse=as_list),
        FormField("ntp", _l("NTP servers"), _l("Separated by spaces."), parse=as_list),
        FormField("timezone", _l("Time zone"), _l("Region/City, for example Pacific/Fiji; logs and "
                  "graphs show this local time."), kind="select", choices=TIME_ZONES),
    ), "management-network"),
    Step("peering_lan", _l("Peering LAN"),
         _l("The shared network every member connects to. Your RIR "
         "assigns its prefixes; members get one address each from them."), "peering_lan", (
        FormField("ipv4_prefix", _l("IPv4 prefix"),
                  _l("For example 203.0.113.0/24."), required=True),
        FormField("ipv6_prefix", _l("IPv6 prefix"), _l("Usually a /64, e.g. 2001:db8:eeee::/64.")),
        FormField("mtu", _l("MTU"), _l("1500 unless every member agreed on jumbo frames."),
                  kind="number"),
        FormField("bridge", _l("Bridge name"), _l("The name of the switch inside the box.")),
    ), "peering-lan"),
    Step("route_server", _l("Route server"),
         _l("Each member opens one BGP session to the route server "
         "and reaches everyone. The filters below protect the Internet from mistakes."),
         "route_server", (
        FormField("asn", _l("Route server ASN"),
                  _l("The exchange's own ASN; it never appears in paths."),
                  kind="number", required=True),
        FormField("ipv4", _l("IPv4 address"), _l("On the peering LAN; usually its first address.")),
        FormField("ipv6", _l("IPv6 address"), _l("On the peering LAN; usually ::1 of its prefix.")),
        FormField("router_id", _l("Router id"), _l("Usually the route server's IPv4 address.")),
        FormField("policy.rpki", _l("RPKI"), _l("RPKI is a signed record in which the owner of "
                  "addresses says which AS may announce them."),
                  kind="select", choices=(("reject_invalid", _l("Reject RPKI-invalid routes "
                                           "(recommended)")),
                                          ("tag_only", _l("Only tag them")), ("off", _l("Off"))),
                  choice_help=(
                      ("reject_invalid", _l("Reject: a route that the owner's record says comes "
                       "from the wrong AS is dropped, so a typo or a hijack does not spread.")),
                      ("tag_only", _l("Only tag: such routes still reach every member, marked "
                       "with a community so each member can decide.")),
                      ("off", _l("Off: the route server does not look at RPKI at all.")))),
        FormField("policy.aspa", _l("ASPA path check"),
                  _l("ASPA is a signed record in which a network lists its upstream providers, "
                  "so a route leaked through any other network can be recognised. Only "
                  "tagging is the default because few networks publish ASPA yet, and one with "
                  "an incomplete provider list would make its legitimate routes look leaked."),
                  kind="select", choices=(("tag_only", _l("Only tag ASPA-invalid routes "
                                           "(recommended)")),
                                          ("reject_invalid", _l("Reject ASPA-invalid routes")),
                                          ("off", _l("Off"))),
                  choice_help=(
                      ("tag_only", _l("Only tag: routes whose path breaks a network's "
                       "provider list still reach every member, marked with a community so "
                       "each member can decide.")),
                      ("reject_invalid", _l("Reject: such routes are dropped as leaks; the "
                       "records come from the VRP file you import (Data page).")),
                      ("off", _l("Off: the route server does not look at ASPA at all.")))),
        FormField("policy.irr", _l("IRR filtering"),
                  _l("The IRR is a public register in which each "
                  "network lists, under its AS-SET, the prefixes it may announce."), kind="select",
                  choices=(("reject", _l("Reject unregistered routes (recommended)")),
                           ("tag_only", _l("Only tag them")), ("off", _l("Off"))),
                  choice_help=(
                      ("reject", _l("Reject: a member's route is accepted only if it registered "
                       "the prefix; this needs IRR data on the box (until it is loaded, routes "
                       "are accepted unchecked).")),
                      ("tag_only", _l("Only tag: unregistered routes still reach every member, "
                       "marked so each member can decide.")),
                      ("off", _l("Off: members' routes are not compared with the IRR at all.")))),
    ), "route-server"),
    Step("services", _l("Services"),
         _l("A DNS resolver for the members, with a local copy of the root "
         "zone so lookups stay on the island."), "services", (
        FormField("resolver.enabled", _l("Run a resolver for the members"), kind="checkbox",
                  parse=as_bool),
        FormField("resolver.ipv4", _l("Resolver IPv4 address(es)"),
                  _l("On the peering LAN, or inside "
                  "the anycast prefix below."), parse=as_list),
        FormField("resolver.ipv6", _l("Resolver IPv6 address(es)"), parse=as_list),
        FormField("resolver.local_root", _l("Keep a local copy of the root zone (RFC 8806)"),
                  kind="checkbox", parse=as_bool),
        FormField("anycast.0.prefix", _l("Anycast service prefix (optional)"), _l("A prefix of its "
                  "own, outside the peering LAN, that the route server announces to the members "
                  "only while the resolver answers. Put a resolver address inside it."),
                  placeholder="192.0.2.0/24"),
        FormField("looking_glass.public", _l("Public looking glass"),
                  _l("Members can look up routes "
                  "without an account (read-only)."), kind="checkbox", parse=as_flag),
    ), "services"),
    Step("snmp", _l("Monitoring (SNMP)"), _l("Lets LibreNMS, MRTG or IXP Manager graph the ports. "
         "SNMPv3 encrypts and authenticates; v2c is for older tools."), "snmp", (
        FormField("enabled", _l("Run the SNMP agent"), kind="checkbox", parse=as_bool),
        FormField("location", _l("Location"), _l("sysLocation, e.g. the building and rack.")),
        FormField("users.0.name", _l("SNMPv3 user name"), placeholder="librenms"),
        FormField("users.0.auth_password", _l("SNMPv3 authentication pass phrase"),
                  _l("8 characters or more."), kind="password"),
        FormField("users.0.priv_password", _l("SNMPv3 privacy pass phrase"),
                  _l("8 characters or more."),
                  kind="password"),
        FormField("communities.0.community", _l("SNMPv2c community (optional)"),
                  _l("Not 'public'; only usable from the network below.")),
        FormField("communities.0.allowed_networks", _l("v2c allowed from"),
                  _l("e.g. 192.0.2.0/24."),
                  parse=as_list),
    ), "monitoring-snmp"),
    Step("alerts", _l("Alerts (optional)"), _l("The box tells you by itself when a member's "
         "session or port is down, a member sends bad frames or routes, or the box needs "
         "care. Leave this empty to see the alerts only on the Alerts page; more channels "
         "(syslog, SNMP traps) and every threshold are on that page later."), "alerts", (
        FormField("email.enabled", _l("Send alerts by e-mail"), kind="checkbox",
                  parse=as_bool),
        FormField("email.relay", _l("SMTP relay"), _l("Your mail server's name or address."),
                  placeholder="smtp.example.net"),
        FormField("email.port", _l("SMTP port"), kind="number", placeholder="587"),
        FormField("email.username", _l("SMTP user name"),
                  _l("Empty: the relay takes mail without a login.")),
        FormField("email.smtp_password", _l("SMTP password"), kind="password"),
        FormField("email.sender", _l("Sender address"), kind="email",
                  placeholder="ixp@example.net"),
        FormField("email.recipients", _l("Recipients"),
                  _l("Addresses separated by spaces or commas."), parse=as_list),
        FormField("webhooks.0.url", _l("Webhook URL"), _l("Each alert is POSTed there as "
                  "JSON. Empty: no webhook."), placeholder="https://chat.example.net/hook"),
    ), "alerts-optional"),
)

STEP_BY_NAME = {s.name: s for s in STEPS}


def next_step(name: str) -> str | None:
    """The step after ``name`` (None after the last: the review)."""
    names = [s.name for s in STEPS]
    i = names.index(name)
    return names[i + 1] if i + 1 < len(names) else None


def previous_step(name: str) -> str | None:
    """The step before ``name``."""
    names = [s.name for s in STEPS]
    i = names.index(name)
    return names[i - 1] if i > 0 else None
