"""The web UI's languages (Flask-Babel): which one a request gets, the footer's switch, and the
config model's validation sentences translated for display.

A request's language is the one chosen with the footer's switch (kept in the session), else
the best of the browser's ``Accept-Language``, else the box's ``identity.language``, else
English. The catalogues are in ``translations/`` (docs/translating.md says how to add one).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from babel import Locale
from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    has_request_context,
    redirect,
    request,
    session,
    url_for,
)
from flask_babel import Babel, get_locale, gettext, lazy_gettext, ngettext, pgettext
from markupsafe import Markup

from appliance.config.committed import committed_config

# Code -> the language's own name, as the switch shows it (never translated: a reader who
# cannot read the current language must still find theirs).
LANGUAGES: dict[str, str] = {"en": "English", "fr": "Français", "es": "Español",
                             "pt": "Português"}
SESSION_KEY = "language"

bp = Blueprint("i18n", __name__)


def select_locale() -> str:
    """The language of this request: session choice, browser, box default, English."""
    chosen = session.get(SESSION_KEY)
    if chosen in LANGUAGES:
        return chosen
    browser = request.accept_languages.best_match(list(LANGUAGES))
    if browser:
        return browser
    cfg = committed_config(current_app.config["STATE_DIR"])
    if cfg is not None and cfg.identity.language in LANGUAGES:
        return cfg.identity.language
    return "en"


def current_locale() -> Locale:
    """The request's Babel locale; English outside a request (CLI, unit tests of filters)."""
    if has_request_context():
        loc = get_locale()
        if loc is not None:
            return loc
    return Locale("en")


def clear_session() -> None:
    """Empty the session (login, logout, setup code) but keep the language chosen in it: it
    is a preference of the person at the browser, not part of what the session proves."""
    language = session.get(SESSION_KEY)
    session.clear()
    if language in LANGUAGES:
        session[SESSION_KEY] = language


def _safe_next(target: str) -> str:
    """A path on this box to go back to; anything else (another host, a scheme) is refused so
    the switch cannot be used to send someone elsewhere."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("status.index")
    return target


@bp.post("/language")
def choose() -> Response:
    """Store the language chosen in the footer and go back to the page it was chosen on."""
    language = request.form.get("language", "")
    if language in LANGUAGES:
        session[SESSION_KEY] = language
    return redirect(_safe_next(request.form.get("next", "")))


# The config model's sentences (appliance/config: loader.py, types.py, model.py) stay English
# for the CLI and the API; the web translates the common ones when it shows them. Each entry:
# a pattern of the English sentence (without its first capital and final full stop) and the
# translatable sentence, filled in with the pattern's named groups.
_ISSUES: tuple[tuple[re.Pattern[str], Callable[..., Any]], ...] = tuple(
    (re.compile(pattern + "$"), text) for pattern, text in (
        (r"this is needed", lambda: gettext("This is needed.")),
        (r"is required; add it", lambda: gettext("Is required; add it.")),
        (r"must be a whole number", lambda: gettext("Must be a whole number.")),
        (r"must be true or false", lambda: gettext("Must be true or false.")),
        (r"must be text", lambda: gettext("Must be text.")),
        (r"must be a finite number", lambda: gettext("Must be a finite number.")),
        (r"is not a known setting; check its spelling or remove it",
         lambda: gettext("Is not a known setting; check its spelling or remove it.")),
        (r"must be at most (?P<n>\S+)", lambda n: gettext("Must be at most %(n)s.", n=n)),
        (r"must be at least (?P<n>\S+)", lambda n: gettext("Must be at least %(n)s.",
                                                                 n=n)),
        (r"must be less than (?P<n>\S+)", lambda n: gettext("Must be less than %(n)s.",
                                                                  n=n)),
        (r"must be more than (?P<n>\S+)", lambda n: gettext("Must be more than %(n)s.",
                                                                  n=n)),
        (r"must be at least (?P<n>\d+) characters long",
         lambda n: gettext("Must be at least %(n)s characters long.", n=n)),
        (r"must be at most (?P<n>\d+) characters long",
         lambda n: gettext("Must be at most %(n)s characters long.", n=n)),
        (r"must be one of (?P<choices>.+)",
         lambda choices: gettext("Must be one of %(choices)s.", choices=choices)),
        (r"is not a valid e-mail address; write it like noc@example\.net",
         lambda: gettext("Is not a valid e-mail address; write it like noc@example.net.")),
        (r"'(?P<text>.*)' has host bits set; the prefix is (?P<net>\S+) \(write that\)",
         lambda text, net: gettext("'%(text)s' has host bits set; the prefix is %(net)s "
                                        "(write that).", text=text, net=net)),
        (r"'(?P<text>.*)' has no prefix length; write it like (?P<net>\S+)",
         lambda text, net: gettext("'%(text)s' has no prefix length; write it like "
                                        "%(net)s.", text=text, net=net)),
        (r"'(?P<text>.*)' needs a prefix length, e\.g\. (?P<example>\S+)",
         lambda text, example: gettext("'%(text)s' needs a prefix length, e.g. "
                                            "%(example)s.", text=text, example=example)),
        (r"'(?P<text>.*)' is not an IPv4 address \(expected four numbers like 192\.0\.2\.10\)",
         lambda text: gettext("'%(text)s' is not an IPv4 address (expected four numbers "
                                   "like 192.0.2.10).", text=text)),
        (r"'(?P<text>.*)' is not an IPv6 address \(expected something like 2001:db8::10\)",
         lambda text: gettext("'%(text)s' is not an IPv6 address (expected something "
                                   "like 2001:db8::10).", text=text)),
        (r"'(?P<text>.*)' is not an AS number; write it like 64500 or AS64500",
         lambda text: gettext("'%(text)s' is not an AS number; write it like 64500 or "
                                   "AS64500.", text=text)),
        (r"'(?P<text>.*)' is not a MAC address; write it like 02:00:5e:10:00:01",
         lambda text: gettext("'%(text)s' is not a MAC address; write it like "
                                   "02:00:5e:10:00:01.", text=text)),
        (r"'(?P<text>.*)' is not a valid host name \(letters, digits and '-' only\)",
         lambda text: gettext("'%(text)s' is not a valid host name (letters, digits and "
                                   "'-' only).", text=text)),
        (r"'(?P<text>.*)' is not a known time zone; use a name like UTC or Pacific/Fiji",
         lambda text: gettext("'%(text)s' is not a known time zone; use a name like UTC "
                                   "or Pacific/Fiji.", text=text)),
        (r"has characters or a form that is not allowed here: (?P<hint>.+)",
         lambda hint: gettext("Has characters or a form that is not allowed here: "
                                   "%(hint)s.", hint=_hint(hint))),
        # -- the loader's rarer sentences (appliance/config/loader.py) --
        (r"must be a list \(one '- item' per line\)",
         lambda: gettext("Must be a list (one '- item' per line).")),
        (r"must be a section with its own settings \(key: value lines\)",
         lambda: gettext("Must be a section with its own settings (key: value lines).")),
        (r"needs at least (?P<n>\d+) item\(s\)",
         lambda n: gettext("Needs at least %(n)s item(s).", n=n)),
        (r"may have at most (?P<n>\d+) items",
         lambda n: gettext("May have at most %(n)s items.", n=n)),
        (r"is not valid", lambda: gettext("Is not valid.")),
        (r"the file is larger than (?P<n>\d+) MiB; this is not an appliance configuration",
         lambda n: gettext("The file is larger than %(n)s MiB; this is not an appliance "
                           "configuration.", n=n)),
        (r"(?P<file>.+) is larger than (?P<n>\d+) MiB; this is not an appliance configuration",
         lambda file, n: gettext("%(file)s is larger than %(n)s MiB; this is not an appliance "
                                 "configuration.", file=file, n=n)),
        (r"the configuration is empty; start from examples/small-island\.yaml",
         lambda: gettext("The configuration is empty; start from "
                         "examples/small-island.yaml.")),
        (r"the configuration must be a set of 'key: value' sections \(identity, peering_lan, "
         r"\.\.\.\), not a (?P<kind>\S+)",
         lambda kind: gettext("The configuration must be a set of 'key: value' sections "
                              "(identity, peering_lan, ...), not a %(kind)s.", kind=kind)),
        (r"top-level keys must be section names such as identity or members",
         lambda: gettext("Top-level keys must be section names such as identity or members.")),
        (r"line (?P<line>\d+): YAML aliases \(\*name\) are not supported; write the value out "
         r"in full",
         lambda line: gettext("Line %(line)s: YAML aliases (*name) are not supported; write "
                              "the value out in full.", line=line)),
        (r"line (?P<line>\d+): the file is nested more than (?P<n>\d+) levels deep; check its "
         r"indentation",
         lambda line, n: gettext("Line %(line)s: the file is nested more than %(n)s levels "
                                 "deep; check its indentation.", line=line, n=n)),
        (r"line (?P<line>\d+), column (?P<col>\d+): YAML syntax error: (?P<why>.+); check "
         r"indentation and quoting there",
         lambda line, col, why: gettext("Line %(line)s, column %(col)s: YAML syntax error: "
                                        "%(why)s; check indentation and quoting there.",
                                        line=line, col=col, why=why)),
        (r"YAML syntax error: (?P<why>.+); check indentation and quoting there",
         lambda why: gettext("YAML syntax error: %(why)s; check indentation and quoting "
                             "there.", why=why)),
        (r"the file is not valid YAML \((?P<why>.+)\)",
         lambda why: gettext("The file is not valid YAML (%(why)s).", why=why)),
        (r"the configuration could not be read: (?P<why>.+)",
         lambda why: gettext("The configuration could not be read: %(why)s.", why=why)),
        (r"(?P<file>.+) is not UTF-8 text \(byte (?P<n>\d+)\); save it as UTF-8",
         lambda file, n: gettext("%(file)s is not UTF-8 text (byte %(n)s); save it as UTF-8.",
                                 file=file, n=n)),
        (r"cannot read (?P<file>.+?): (?P<why>.+)",
         lambda file, why: gettext("Cannot read %(file)s: %(why)s.", file=file, why=why)),
        # -- the schema version (appliance/config/migrations) --
        (r"must be a whole number, the schema version \(this software writes (?P<n>\d+)\); "
         r"got (?P<got>.+)",
         lambda n, got: gettext("Must be a whole number, the schema version (this software "
                                "writes %(n)s); got %(got)s.", n=n, got=got)),
        (r"schema version (?P<v>\d+) is older than any this firmware reads \(oldest: "
         r"(?P<oldest>\d+)\); set version: (?P<set>\d+) if the file was written for this "
         r"firmware",
         lambda v, oldest, set: gettext("Schema version %(v)s is older than any this firmware "
                                        "reads (oldest: %(oldest)s); set version: %(set)s if "
                                        "the file was written for this firmware.", v=v,
                                        oldest=oldest, set=set)),
        (r"this configuration has schema version (?P<v>\d+), which ixp-appliance (?P<by>\S+) "
         r"wrote; this firmware \(ixp-appliance (?P<mine>\S+)\) reads schema versions up to "
         r"(?P<target>\d+)\. Install a firmware that reads schema version \d+ \(ixp-appliance "
         r"\S+ or newer\), or load an older configuration",
         lambda v, by, mine, target: gettext(
             "This configuration has schema version %(v)s, which ixp-appliance %(by)s wrote; "
             "this firmware (ixp-appliance %(mine)s) reads schema versions up to %(target)s. "
             "Install a firmware that reads schema version %(v)s (ixp-appliance %(by)s or "
             "newer), or load an older configuration.", v=v, by=by, mine=mine, target=target)),
        (r"this configuration has schema version (?P<v>\d+); this firmware \(ixp-appliance "
         r"(?P<mine>\S+)\) reads schema versions up to (?P<target>\d+)\. Install a firmware "
         r"that reads schema version \d+ \(the one that wrote it, or newer\), or load an older "
         r"configuration",
         lambda v, mine, target: gettext(
             "This configuration has schema version %(v)s; this firmware (ixp-appliance "
             "%(mine)s) reads schema versions up to %(target)s. Install a firmware that reads "
             "schema version %(v)s (the one that wrote it, or newer), or load an older "
             "configuration.", v=v, mine=mine, target=target)),
        # -- the value parsers (appliance/config/types.py) --
        (r"must be (?P<what>.+) written as text, got (?P<got>\S+)",
         lambda what, got: gettext("Must be %(what)s written as text, got %(got)s.",
                                   what=_what(what), got=got)),
        (r"must be an AS number such as 64500, not true/false",
         lambda: gettext("Must be an AS number such as 64500, not true/false.")),
        (r"must be an AS number such as 64500, got (?P<got>\S+)",
         lambda got: gettext("Must be an AS number such as 64500, got %(got)s.", got=got)),
        (r"(?P<n>\S+) is outside the AS number range 0 to (?P<top>\d+)",
         lambda n, top: gettext("%(n)s is outside the AS number range 0 to %(top)s.", n=n,
                                top=top)),
        (r"'(?P<text>.*)' is an IPv6 address; put it under the ipv6 field instead",
         lambda text: gettext("'%(text)s' is an IPv6 address; put it under the ipv6 field "
                              "instead.", text=text)),
        (r"'(?P<text>.*)' is an IPv4 address; put it under the ipv4 field instead",
         lambda text: gettext("'%(text)s' is an IPv4 address; put it under the ipv4 field "
                              "instead.", text=text)),
        (r"'(?P<text>.*)' has a prefix length; give the bare address, e\.g\. (?P<example>\S+)",
         lambda text, example: gettext("'%(text)s' has a prefix length; give the bare "
                                       "address, e.g. %(example)s.", text=text,
                                       example=example)),
        (r"'(?P<text>.*)' is an IPv6 prefix; put it under the IPv6 field instead",
         lambda text: gettext("'%(text)s' is an IPv6 prefix; put it under the IPv6 field "
                              "instead.", text=text)),
        (r"'(?P<text>.*)' is an IPv4 prefix; put it under the IPv4 field instead",
         lambda text: gettext("'%(text)s' is an IPv4 prefix; put it under the IPv4 field "
                              "instead.", text=text)),
        (r"'(?P<text>.*)' is a multicast MAC; a router port has a unicast MAC",
         lambda text: gettext("'%(text)s' is a multicast MAC; a router port has a unicast "
                              "MAC.", text=text)),
        (r"00:00:00:00:00:00 is not a usable MAC address",
         lambda: gettext("00:00:00:00:00:00 is not a usable MAC address.")),
        (r"'(?P<text>.*)' is not a valid interface name \(1 to 15 letters, digits, '\.', '-', "
         r"'_'\)",
         lambda text: gettext("'%(text)s' is not a valid interface name (1 to 15 letters, "
                              "digits, '.', '-', '_').", text=text)),
        (r"'(?P<text>.*)' is not an AS-SET; write it like AS-EXAMPLE or AS64500:AS-CUSTOMERS "
         r"\(it starts with a letter\)",
         lambda text: gettext("'%(text)s' is not an AS-SET; write it like AS-EXAMPLE or "
                              "AS64500:AS-CUSTOMERS (it starts with a letter).", text=text)),
        (r"'(?P<text>.*)' is not an IP address",
         lambda text: gettext("'%(text)s' is not an IP address.", text=text)),
        (r"'(?P<text>.*)' is neither 'dhcp' nor an address with prefix length like "
         r"192\.0\.2\.10/24",
         lambda text: gettext("'%(text)s' is neither 'dhcp' nor an address with prefix length "
                              "like 192.0.2.10/24.", text=text)),
        (r"'(?P<text>.*)' is neither 'auto', 'none' nor an address like 2001:db8::10/64",
         lambda text: gettext("'%(text)s' is neither 'auto', 'none' nor an address like "
                              "2001:db8::10/64.", text=text)),
        (r"'(?P<text>.*)' is not (?P<what>an? .+?); write it like (?P<example>\S+)",
         lambda text, what, example: gettext("'%(text)s' is not %(what)s; write it like "
                                             "%(example)s.", text=text, what=_what(what),
                                             example=example)),
        # -- the model's own checks (appliance/config/model.py) --
        (r"extended_next_hop carries IPv4 routes over the member's IPv6 session: give the "
         r"member an ipv6 address, or set extended_next_hop to false",
         lambda: gettext("extended_next_hop carries IPv4 routes over the member's IPv6 "
                         "session: give the member an ipv6 address, or set extended_next_hop "
                         "to false.")),
        (r"blackhole_community (?P<c>\S+): each part of a (?P<kind>\S+) community must be below "
         r"(?P<n>\d+)",
         lambda c, kind, n: gettext("blackhole_community %(c)s: each part of a %(kind)s "
                                    "community must be below %(n)s.", c=c, kind=kind, n=n)),
        # -- the rules across fields (appliance/config/semantic.py, asn.py) --
        (r"give the route server an ipv4 or ipv6 address \(or both\)",
         lambda: gettext("Give the route server an ipv4 or ipv6 address (or both).")),
        (r"(?P<rid>\S+) cannot be a router id; use the route server's IPv4 address",
         lambda rid: gettext("%(rid)s cannot be a router id; use the route server's IPv4 "
                             "address.", rid=rid)),
        (r"the management interface cannot be the peering LAN bridge; keep management on its "
         r"own NIC",
         lambda: gettext("The management interface cannot be the peering LAN bridge; keep "
                         "management on its own NIC.")),
        (r"the resolver is enabled but has no address; add services\.resolver\.ipv4 or ipv6",
         lambda: gettext("The resolver is enabled but has no address; add "
                         "services.resolver.ipv4 or ipv6.")),
        (r"SNMP is enabled but has no community or user; add an SNMPv3 user \(recommended\) or "
         r"a v2c community",
         lambda: gettext("SNMP is enabled but has no community or user; add an SNMPv3 user "
                         "(recommended) or a v2c community.")),
        (r"AS(?P<asn>\d+) is the route server's own ASN; a member needs its own ASN",
         lambda asn: gettext("AS%(asn)s is the route server's own ASN; a member needs its own "
                             "ASN.", asn=asn)),
        (r"(?P<lo>\d+) is longer than (?P<fam>\w+)_max_length (?P<hi>\d+); the minimum must "
         r"not exceed the maximum",
         lambda lo, fam, hi: gettext("%(lo)s is longer than %(fam)s_max_length %(hi)s; the "
                                     "minimum must not exceed the maximum.", lo=lo, fam=fam,
                                     hi=hi)),
        (r"(?P<hours>\d+) hours is not less than stale_days \((?P<days>\d+) days\): the data "
         r"would be stale before its next refresh; refresh more often or raise stale_days",
         lambda hours, days: gettext("%(hours)s hours is not less than stale_days (%(days)s "
                                     "days): the data would be stale before its next "
                                     "refresh; refresh more often or raise stale_days.",
                                     hours=hours, days=days)),
        (r"a member needs at least one ipv4 or ipv6 address on the LAN",
         lambda: gettext("A member needs at least one ipv4 or ipv6 address on the LAN.")),
        (r"peering_lan\.ipv6_prefix is not set; set it or remove the member's IPv6 addresses",
         lambda: gettext("peering_lan.ipv6_prefix is not set; set it or remove the member's "
                         "IPv6 addresses.")),
        (r"the member has IPv6 but the route server has no IPv6 address; set "
         r"route_server\.ipv6 or remove the member's IPv6",
         lambda: gettext("The member has IPv6 but the route server has no IPv6 address; set "
                         "route_server.ipv6 or remove the member's IPv6.")),
        (r"the member has IPv4 but the route server has no IPv4 address; set "
         r"route_server\.ipv4 or remove the member's IPv4",
         lambda: gettext("The member has IPv4 but the route server has no IPv4 address; set "
                         "route_server.ipv4 or remove the member's IPv4.")),
        (r"(?P<net>\S+) overlaps the peering LAN (?P<lan>\S+); management needs its own network",
         lambda net, lan: gettext("%(net)s overlaps the peering LAN %(lan)s; management needs "
                                  "its own network.", net=net, lan=lan)),
        (r"(?P<gw>\S+) is not in the management network (?P<net>\S+)",
         lambda gw, net: gettext("%(gw)s is not in the management network %(net)s.", gw=gw,
                                 net=net)),
        (r"(?P<gw>\S+) is neither in the management network (?P<net>\S+) nor link-local "
         r"\(fe80::/10\)",
         lambda gw, net: gettext("%(gw)s is neither in the management network %(net)s nor "
                                 "link-local (fe80::/10).", gw=gw, net=net)),
        (r"a gateway is only used with a static ipv4 address; remove it or set "
         r"management\.ipv4 to an address",
         lambda: gettext("A gateway is only used with a static ipv4 address; remove it or set "
                         "management.ipv4 to an address.")),
        (r"a gateway is only used with a static ipv6 address; remove it or set "
         r"management\.ipv6 to an address",
         lambda: gettext("A gateway is only used with a static ipv6 address; remove it or set "
                         "management.ipv6 to an address.")),
        (r"(?P<prefix>\S+) holds the address of the (?P<letters>.+?) root server; the box never "
         r"announces root prefixes \(a root operator's instance is a member with root_instance "
         r"set\)",
         lambda prefix, letters: gettext("%(prefix)s holds the address of the %(letters)s root "
                                         "server; the box never announces root prefixes (a "
                                         "root operator's instance is a member with "
                                         "root_instance set).", prefix=prefix,
                                         letters=letters)),
        (r"(?P<prefix>\S+) overlaps another anycast prefix; list each service prefix once",
         lambda prefix: gettext("%(prefix)s overlaps another anycast prefix; list each service "
                                "prefix once.", prefix=prefix)),
        (r"(?P<prefix>\S+) overlaps the peering LAN (?P<lan>\S+); an anycast service prefix "
         r"must be separate",
         lambda prefix, lan: gettext("%(prefix)s overlaps the peering LAN %(lan)s; an anycast "
                                     "service prefix must be separate.", prefix=prefix,
                                     lan=lan)),
        (r"the timeout must be shorter than the interval",
         lambda: gettext("The timeout must be shorter than the interval.")),
        (r"'(?P<c>.*)' is the first thing an attacker tries; choose a less guessable community",
         lambda c: gettext("'%(c)s' is the first thing an attacker tries; choose a less "
                           "guessable community.", c=c)),
        (r"user '(?P<user>.*)' is listed twice",
         lambda user: gettext("User '%(user)s' is listed twice.", user=user)),
        (r"an SNMPv2c manager needs a community \(or set version: v3\)",
         lambda: gettext("An SNMPv2c manager needs a community (or set version: v3).")),
        (r"give both username and smtp_password for the relay, or neither",
         lambda: gettext("Give both username and smtp_password for the relay, or neither.")),
        (r"a member account needs the ASN of the member it belongs to \(asn: 64500\)",
         lambda: gettext("A member account needs the ASN of the member it belongs to "
                         "(asn: 64500).")),
        (r"AS(?P<asn>\d+) is not a member of this exchange; give the ASN of a configured member",
         lambda asn: gettext("AS%(asn)s is not a member of this exchange; give the ASN of a "
                             "configured member.", asn=asn)),
        (r"only a member account has an asn; a (?P<role>\S+) sees every member \(remove asn, "
         r"or make the role member\)",
         lambda role: gettext("Only a member account has an ASN; a %(role)s account sees every "
                              "member (remove asn, or make the role member).", role=role)),
        (r"(?P<mac>\S+) is already used by (?P<who>.+); each MAC address belongs to one member "
         r"router",
         lambda mac, who: gettext("%(mac)s is already used by %(who)s; each MAC address "
                                  "belongs to one member router.", mac=mac, who=who)),
        (r"(?P<addr>\S+) is already used by (?P<who>.+); give the member its own address",
         lambda addr, who: gettext("%(addr)s is already used by %(who)s; give the member its "
                                   "own address.", addr=addr, who=who)),
        (r"(?P<addr>\S+) is already used by (?P<who>.+); every router needs its own address",
         lambda addr, who: gettext("%(addr)s is already used by %(who)s; every router needs "
                                   "its own address.", addr=addr, who=who)),
        (r"(?P<port>\S+) is (?P<what>.+); connect the member to a free NIC",
         lambda port, what: gettext("%(port)s is %(what)s; connect the member to a free NIC.",
                                    port=port, what=what)),
        (r"(?P<n>\d+) is shorter than the route server's (?P<fam>\w+)_min_length; raise it",
         lambda n, fam: gettext("%(n)s is shorter than the route server's %(fam)s_min_length; "
                                "raise it.", n=n, fam=fam)),
        (r"port (?P<port>\S+(?: VLAN \d+)?) is already given to (?P<who>.+); each port "
         r"belongs to one member",
         lambda port, who: gettext("Port %(port)s is already given to %(who)s; each port "
                                   "belongs to one member.", port=port, who=who)),
        (r"(?P<nic>\S+) carries VLAN ports of (?P<who>.+), so it cannot also be an untagged "
         r"port; give this port a VLAN too",
         lambda nic, who: gettext("%(nic)s carries VLAN ports of %(who)s, so it cannot also "
                                  "be an untagged port; give this port a VLAN too.", nic=nic,
                                  who=who)),
        (r"(?P<nic>\S+) is the untagged port of (?P<who>.+), so it cannot carry VLAN ports; "
         r"choose another NIC",
         lambda nic, who: gettext("%(nic)s is the untagged port of %(who)s, so it cannot "
                                  "carry VLAN ports; choose another NIC.", nic=nic, who=who)),
        (r"(?P<addr>\S+) is the route server's address; give the resolver its own",
         lambda addr: gettext("%(addr)s is the route server's address; give the resolver its "
                              "own.", addr=addr)),
        (r"(?P<addr>\S+) is an IPv6 address but peering_lan\.ipv6_prefix is not set; set the "
         r"LAN's IPv6 prefix or remove this address",
         lambda addr: gettext("%(addr)s is an IPv6 address but peering_lan.ipv6_prefix is not "
                              "set; set the LAN's IPv6 prefix or remove this address.",
                              addr=addr)),
        (r"(?P<addr>\S+) is outside the peering LAN (?P<lan>\S+); use an address inside it",
         lambda addr, lan: gettext("%(addr)s is outside the peering LAN %(lan)s; use an "
                                   "address inside it.", addr=addr, lan=lan)),
        (r"(?P<addr>\S+) is the network address of (?P<lan>\S+); pick a host address",
         lambda addr, lan: gettext("%(addr)s is the network address of %(lan)s; pick a host "
                                   "address.", addr=addr, lan=lan)),
        (r"(?P<addr>\S+) is the broadcast address of (?P<lan>\S+); pick a host address",
         lambda addr, lan: gettext("%(addr)s is the broadcast address of %(lan)s; pick a host "
                                   "address.", addr=addr, lan=lan)),
        (r"AS 0 is never valid in BGP \(RFC 7607\)",
         lambda: gettext("AS 0 is never valid in BGP (RFC 7607).")),
        (r"AS 23456 is AS_TRANS, a placeholder for 4-byte ASNs \(RFC 6793\); use the network's "
         r"real 4-byte ASN",
         lambda: gettext("AS 23456 is AS_TRANS, a placeholder for 4-byte ASNs (RFC 6793); use "
                         "the network's real 4-byte ASN.")),
        (r"AS(?P<asn>\d+) is reserved for documentation \(RFC 5398\)",
         lambda asn: gettext("AS%(asn)s is reserved for documentation (RFC 5398).", asn=asn)),
        (r"AS(?P<asn>\d+) is a private ASN \(RFC 6996\); IXP members need a public ASN from "
         r"their RIR",
         lambda asn: gettext("AS%(asn)s is a private ASN (RFC 6996); IXP members need a public "
                             "ASN from their RIR.", asn=asn)),
        (r"AS(?P<asn>\d+) is reserved by IANA and never assigned",
         lambda asn: gettext("AS%(asn)s is reserved by IANA and never assigned.", asn=asn)),
    ))

# appliance.config.model.PATTERN_HINTS, the second half of a pattern sentence.
_HINTS: dict[str, Callable[[], Any]] = {
    "use letters, digits, spaces, '.', '-' or '_', starting with a letter or digit":
        lambda: gettext("use letters, digits, spaces, '.', '-' or '_', starting with a "
                             "letter or digit"),
    "use the two-letter ISO 3166 country code in capitals, like FJ or WS":
        lambda: gettext("use the two-letter ISO 3166 country code in capitals, like FJ "
                             "or WS"),
    "use a web address starting with https:// or http://":
        lambda: gettext("use a web address starting with https:// or http://"),
    "use an IRR source name in capitals, like RIPE or APNIC":
        lambda: gettext("use an IRR source name in capitals, like RIPE or APNIC"),
    "use printable ASCII characters without spaces":
        lambda: gettext("use printable ASCII characters without spaces"),
    "use printable ASCII characters only":
        lambda: gettext("use printable ASCII characters only"),
    "use letters, digits, '.', '-' or '_' only":
        lambda: gettext("use letters, digits, '.', '-' or '_' only"),
    "use lower-case letters, digits, '.', '-' or '_', starting with a letter":
        lambda: gettext("use lower-case letters, digits, '.', '-' or '_', starting with a "
                             "letter"),
    "remove control characters (tabs, line breaks)":
        lambda: gettext("remove control characters (tabs, line breaks)"),
    "use printable ASCII characters without spaces, '\"' or '\\'":
        lambda: gettext("use printable ASCII characters without spaces, '\"' or '\\'"),
    "store an argon2id hash (ixpctl user hash-password makes one), never a plain password":
        lambda: gettext("store an argon2id hash (ixpctl user hash-password makes one), never "
                        "a plain password"),
}

# appliance.config.types: what a value must be ("must be an IPv4 address written as text").
_WHATS: dict[str, Callable[[], Any]] = {
    "a MAC address": lambda: gettext("a MAC address"),
    "a host name": lambda: gettext("a host name"),
    "a host name or IP address": lambda: gettext("a host name or IP address"),
    "a time zone": lambda: gettext("a time zone"),
    "an AS-SET name": lambda: gettext("an AS-SET name"),
    "an IP address": lambda: gettext("an IP address"),
    "an IP prefix": lambda: gettext("an IP prefix"),
    "an IPv4 address": lambda: gettext("an IPv4 address"),
    "an IPv4 address with prefix length": lambda: gettext("an IPv4 address with prefix length"),
    "an IPv4 prefix": lambda: gettext("an IPv4 prefix"),
    "an IPv6 address": lambda: gettext("an IPv6 address"),
    "an IPv6 address with prefix length": lambda: gettext("an IPv6 address with prefix length"),
    "an IPv6 prefix": lambda: gettext("an IPv6 prefix"),
    "an interface name": lambda: gettext("an interface name"),
}

# asn.asn_problem's ending for an ASN that a lab configuration may use
_LAB_ONLY = " (allowed only in a config marked 'lab: true')"


def _what(english: str) -> str:
    what = _WHATS.get(english)
    return str(what()) if what else english


def _hint(english: str) -> str:
    hint = _HINTS.get(english)
    if hint:
        return str(hint())
    if english.startswith("expected "):  # a pattern without words of its own
        return str(gettext("expected %(pattern)s", pattern=english.removeprefix("expected ")))
    return english


def _capitalised(text: str) -> bool:
    """Whether ``text`` starts with a capitalised word ("Must", "A gateway"), not a name in
    capitals ("AS64500", "SNMP")."""
    return text[:1].isupper() and (text[1:2].islower() or text[1:2] == " ")


def issue_text(message: Any) -> str:
    """A validation sentence of the config model in the reader's language, when it is one of
    the common ones; others stay as they are (English). Accepts both the model's form ("must
    be a whole number") and the web's ("Must be a whole number.")."""
    if message is None:
        return ""
    text = str(message)
    if isinstance(message, Markup) or not text:
        return text
    bare = text.rstrip(".")
    lab_only = bare.endswith(_LAB_ONLY)
    bare = bare.removesuffix(_LAB_ONLY)
    bare = bare[0].lower() + bare[1:] if _capitalised(bare) else bare
    for pattern, translate in _ISSUES:
        m = pattern.match(bare)
        if m:
            out = str(translate(**m.groupdict()))
            if lab_only:
                out = str(gettext("%(why)s (allowed only in a config marked 'lab: true').",
                                  why=out.rstrip(".")))
            # the model's form starts small; a sentence starting with a name ("AS64500",
            # "SNMP", an address) keeps it as it is
            small = _capitalised(out)
            web_form = text.endswith(".") or _capitalised(text)
            return out if web_form else (out[0].lower() + out[1:] if small else out).rstrip(".")
    return text


def issue_line(line: Any) -> str:
    """'path.to.field: sentence' with the sentence translated; the path stays as it is."""
    text = str(line)
    path, sep, sentence = text.partition(": ")
    if sep and " " not in path:
        return f"{path}: {issue_text(sentence)}"
    return issue_text(text)


def register(app: Flask) -> None:
    """Set up Flask-Babel, the switch's route and the template helpers on ``app``."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "en")
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", "translations")
    Babel(app, locale_selector=select_locale)
    # {% trans %} blocks are written across lines; their msgids are the words, not the indent
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    app.register_blueprint(bp)
    app.add_template_filter(issue_text, "issue_text")
    app.add_template_filter(issue_line, "issue_line")

    @app.context_processor
    def _languages() -> dict[str, Any]:
        return {"languages": LANGUAGES, "current_language": str(current_locale().language)}


__all__ = ["LANGUAGES", "clear_session", "current_locale", "gettext", "issue_line",
           "issue_text", "lazy_gettext", "ngettext", "pgettext", "register", "select_locale"]
