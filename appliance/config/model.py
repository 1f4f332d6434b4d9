"""The one model of the IXP: every front end edits this, every concern renders from it.

Structure and per-field formats live here; rules that relate several fields (addresses inside
the peering LAN, duplicates across members, ASN policy) live in ``semantic.py`` so that all of
them can be reported at once.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, EmailStr, Field, model_validator

from appliance.config.types import (
    ASN,
    MAC,
    ASSet,
    Hostname,
    HostOrIP,
    IfName,
    IPAddr,
    IPNet,
    IPv4Addr,
    IPv4Net,
    IPv6Addr,
    IPv6Net,
    Name,
    TimeZone,
    parse_ipv4_interface,
    parse_ipv6_interface,
)

# Networks that carry transit for the whole Internet; a member that shows one of them in a
# path is leaking a transit route (same list as arouteserver's and the NLNOG defaults).
DEFAULT_TRANSIT_FREE_ASNS = (
    174, 209, 701, 702, 1239, 1299, 2828, 2914, 3257, 3320, 3356, 3491, 3549,
    3561, 4134, 5511, 6453, 6461, 6762, 6830, 7018, 12956,
)  # fmt: skip


# What each text pattern below means, in words, for error messages.
PATTERN_HINTS = {
    r"^[A-Za-z0-9][\w .-]*$": "use letters, digits, spaces, '.', '-' or '_', starting with a "
    "letter or digit",
    r"^[A-Z]{2}$": "use the two-letter ISO 3166 country code in capitals, like FJ or WS",
    r"^https?://[^\s]+$": "use a web address starting with https:// or http://",
    r"^[A-Z0-9-]{2,20}$": "use an IRR source name in capitals, like RIPE or APNIC",
    r"^[!-~]+$": "use printable ASCII characters without spaces",
    r"^[!#-\[\]-~]+$": "use printable ASCII characters without spaces, '\"' or '\\'",
    r"^[ -~]+$": "use printable ASCII characters only",
    r"^[A-Za-z0-9_.-]+$": "use letters, digits, '.', '-' or '_' only",
    r"^[a-z][a-z0-9_.-]*$": "use lower-case letters, digits, '.', '-' or '_', starting with a "
    "letter",
    r"^\$argon2id\$v=\d+\$[^\s]+$": "store an argon2id hash (ixpctl user hash-password makes "
    "one), never a plain password",
    r"^[^\x00-\x1f\x7f]+$": "remove control characters (tabs, line breaks)",
}


class StrictModel(BaseModel):
    """Unknown keys are errors: a misspelt field must never be silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class Identity(StrictModel):
    """Who the IXP is; shown in the UI, SNMP and the IX-F export."""

    name: Name
    short_name: Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][\w .-]*$")]
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
    city: Name | None = None
    contact_email: EmailStr
    url: Annotated[str, Field(pattern=r"^https?://[^\s]+$", max_length=200)] | None = None
    ixf_id: Annotated[int, Field(ge=1, le=100_000)] | None = None
    peeringdb_ix_id: Annotated[int, Field(ge=1, le=10_000_000)] | None = None
    # The web UI's language when the browser asks for none it has (appliance/web/i18n.py).
    language: Literal["en", "fr", "es", "pt"] = "en"


class Management(StrictModel):
    """The management NIC: where the web UI, SSH and SNMP listen."""

    interface: IfName = "eth0"
    hostname: Hostname = "ixp-rs1"
    ipv4: Annotated[
        ipaddress.IPv4Interface | Literal["dhcp"], BeforeValidator(parse_ipv4_interface)
    ] = "dhcp"
    ipv4_gateway: IPv4Addr | None = None
    ipv6: Annotated[
        ipaddress.IPv6Interface | Literal["auto", "none"], BeforeValidator(parse_ipv6_interface)
    ] = "auto"
    ipv6_gateway: IPv6Addr | None = None
    dns: Annotated[list[IPAddr], Field(max_length=8)] = []
    ntp: Annotated[list[HostOrIP], Field(max_length=8)] = ["0.debian.pool.ntp.org"]
    timezone: TimeZone = "UTC"
    # A new address or NIC is applied on trial: unless confirmed from the new address within
    # this time, the box goes back to the last confirmed one by itself (no lockout).
    trial_seconds: Annotated[int, Field(ge=30, le=3600)] = 120
    allowed_networks: Annotated[list[IPNet], Field(max_length=64)] = []
    # Management-plane isolation (nftables): web, SSH and SNMP only on this NIC, BGP only
    # from members, DNS only from allowed networks. Turn off only to debug.
    firewall: bool = True


class PeeringLan(StrictModel):
    """The shared layer-2 segment every member connects to."""

    bridge: IfName = "br-ixp"
    ipv4_prefix: IPv4Net
    ipv6_prefix: IPv6Net | None = None
    mtu: Annotated[int, Field(ge=1280, le=9216)] = 1500
    vlan: Annotated[int, Field(ge=1, le=4094)] | None = None
    storm_pps: Annotated[int, Field(ge=1, le=1_000_000)] = 100
    storm_burst: Annotated[int, Field(ge=1, le=1_000_000)] = 100
    # Count every byte between every pair of members in the kernel (bridge/render.py).
    traffic_matrix: bool = True


NextHopPolicy = Literal["strict", "same_as"]
RpkiPolicy = Literal["reject_invalid", "tag_only", "off"]
AspaPolicy = Literal["reject_invalid", "tag_only", "off"]
IrrPolicy = Literal["reject", "tag_only", "off"]
MaxPrefixAction = Literal["block", "restart", "disable"]


class DenyList(StrictModel):
    """Prefixes and ASNs the operator refuses outright ("stop that leak now")."""

    # A prefix is refused with every more-specific of it.
    prefixes: Annotated[list[IPNet], Field(max_length=2000)] = []
    # Refused anywhere in the AS path.
    asns: Annotated[list[ASN], Field(max_length=2000)] = []


class RoutingPolicy(StrictModel):
    """Route-server import policy; the defaults are the MANRS-grade ones."""

    ipv4_min_length: Annotated[int, Field(ge=0, le=32)] = 8
    ipv4_max_length: Annotated[int, Field(ge=0, le=32)] = 24
    ipv6_min_length: Annotated[int, Field(ge=0, le=128)] = 12
    ipv6_max_length: Annotated[int, Field(ge=0, le=128)] = 48
    max_as_path_length: Annotated[int, Field(ge=1, le=255)] = 32
    reject_bogon_prefixes: bool = True
    reject_bogon_asns: bool = True
    enforce_first_as: bool = True
    next_hop: NextHopPolicy = "strict"
    reject_transit_free_asns: bool = True
    transit_free_asns: Annotated[list[ASN], Field(max_length=200)] = list(
        DEFAULT_TRANSIT_FREE_ASNS
    )
    # Networks PeeringDB flags info_never_via_route_servers (from the dump on the box).
    reject_never_via_route_servers: bool = True
    rpki: RpkiPolicy = "reject_invalid"
    # ASPA path verification (upstream procedure: members are lateral peers of the route
    # server), with the ASPA records of the imported VRP file. Only tags by default: few
    # networks publish ASPA yet, and one customer's incomplete provider list would make
    # every path through a new provider Invalid.
    aspa: AspaPolicy = "tag_only"
    irr: IrrPolicy = "reject"
    # A route whose prefix and origin a ROA makes RPKI Valid counts as registered for the IRR
    # check (arouteserver's use_rpki_roas_as_route_objects); off, as there, by default.
    roas_as_route_objects: bool = False
    max_prefix_action: MaxPrefixAction = "restart"
    # With action restart: seconds the session stays down after a trip before the member may
    # connect again (the same fixed wait after every error, never BIRD's growing one).
    max_prefix_restart_after: Annotated[int, Field(ge=5, le=86_400)] = 900
    blackhole: bool = True
    graceful_shutdown: bool = True
    # Applies to every member; a member's own deny list (members[].deny) adds to it.
    deny: DenyList = DenyList()


class MemberPolicy(StrictModel):
    """Per-member overrides of the route-server policy; unset fields follow the global one."""

    ipv4_max_length: Annotated[int, Field(ge=0, le=32)] | None = None
    ipv6_max_length: Annotated[int, Field(ge=0, le=128)] | None = None
    max_as_path_length: Annotated[int, Field(ge=1, le=255)] | None = None
    enforce_first_as: bool | None = None
    next_hop: NextHopPolicy | None = None
    rpki: RpkiPolicy | None = None
    aspa: AspaPolicy | None = None
    irr: IrrPolicy | None = None
    roas_as_route_objects: bool | None = None
    max_prefix_action: MaxPrefixAction | None = None
    max_prefix_restart_after: Annotated[int, Field(ge=5, le=86_400)] | None = None
    blackhole: bool | None = None
    graceful_shutdown: bool | None = None


class RpkiValidator(StrictModel):
    """An RTR server (e.g. stayrtr on the box, or the operator's own validator)."""

    host: HostOrIP
    port: Annotated[int, Field(ge=1, le=65535)] = 323


class DataRefresh(StrictModel):
    """When the box, online, fetches the route server's filter data again by itself: the IRR
    prefix lists (bgpq4) and the PeeringDB data (max-prefix, AS-SETs, never-via-route-server).
    Offline, the last good data stays in force and only its age grows."""

    enabled: bool = True
    irr_hours: Annotated[int, Field(ge=1, le=168)] = 12
    peeringdb_hours: Annotated[int, Field(ge=1, le=720)] = 24
    # Past this age the status says the data is stale (the alerts read that flag).
    stale_days: Annotated[int, Field(ge=1, le=365)] = 7
    # None: PeeringDB's own API (route_server.peeringdb_fetch.PEERINGDB_API); else a mirror.
    peeringdb_url: Annotated[str, Field(pattern=r"^https?://[^\s]+$", max_length=200)] | None = None


# The bridge's port for the blackhole (bridge/desired.py): a name no member port may take.
BLACKHOLE_PORT = "ixbh0"


class RouteServer(StrictModel):
    """The BIRD route server on the peering LAN."""

    asn: ASN
    router_id: IPv4Addr
    ipv4: IPv4Addr | None = None
    ipv6: IPv6Addr | None = None
    policy: RoutingPolicy = RoutingPolicy()
    # Next hops of accepted blackhole routes (addresses on the peering LAN); None: the
    # member's own next hop stays.
    blackhole_ipv4: IPv4Addr | None = None
    blackhole_ipv6: IPv6Addr | None = None
    # The MAC members' routers learn for those addresses; the bridge drops what they send to
    # it at their own port. 66:66:66:66:66:66 is the usual choice of large IXPs' blackholing.
    blackhole_mac: MAC = "66:66:66:66:66:66"
    rpki_validators: Annotated[list[RpkiValidator], Field(max_length=8)] = []
    irr_sources: Annotated[
        list[Annotated[str, Field(pattern=r"^[A-Z0-9-]{2,20}$")]], Field(max_length=20)
    ] = ["RIPE", "ARIN", "APNIC", "AFRINIC", "LACNIC"]
    refresh: DataRefresh = DataRefresh()


def _port_shorthand(value: object) -> object:
    # "eth3" is the common case; accept it for {"interface": "eth3"}.
    return {"interface": value} if isinstance(value, str) else value


class Port(StrictModel):
    """A member's connection: a NIC of the box, or a VLAN on one."""

    interface: IfName
    vlan: Annotated[int, Field(ge=1, le=4094)] | None = None

    @property
    def ifname(self) -> str:
        """The port's device on the box: the NIC itself, or ``<nic>.<vid>`` for a VLAN (the
        name its counters, drops and graphs are kept under)."""
        return self.interface if self.vlan is None else f"{self.interface}.{self.vlan}"


class MaxPrefix(StrictModel):
    """Most prefixes per family the route server accepts from a member."""

    ipv4: Annotated[int, Field(ge=1, le=2_000_000)] = 100
    ipv6: Annotated[int, Field(ge=1, le=500_000)] = 100


RootLetter = Literal["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m"]


class RootInstance(StrictModel):
    """A root name server instance that a root operator hosts at the IXP."""

    letter: RootLetter
    # Service prefixes beyond the one covering the letter's own address, as the root
    # operator lists them (for example a second anycast prefix).
    prefixes: Annotated[list[IPNet], Field(max_length=16)] = []


class Member(StrictModel):
    """An organisation connected to the IXP."""

    asn: ASN
    name: Name
    noc_email: EmailStr | None = None
    ports: Annotated[
        list[Annotated[Port, BeforeValidator(_port_shorthand)]], Field(min_length=1, max_length=8)
    ]
    macs: Annotated[list[MAC], Field(min_length=1, max_length=8)]
    ipv4: Annotated[list[IPv4Addr], Field(max_length=4)] = []
    ipv6: Annotated[list[IPv6Addr], Field(max_length=4)] = []
    max_prefix: MaxPrefix = MaxPrefix()
    as_set: ASSet | None = None
    route_server: bool = True
    # BIRD cannot quote '"' or '\\' inside a password string, so they are refused here.
    md5_password: Annotated[
        str, Field(min_length=1, max_length=80, pattern=r"^[!#-\[\]-~]+$")
    ] | None = None
    quarantine: bool = False
    # The monthly report card mailed to noc_email (alerts.monthly_report); false: this
    # member gets none.
    monthly_report: bool = True
    bfd: bool = False  # the member's router must run BFD too, or the session stays down
    ttl_security: bool = False  # GTSM (RFC 5082): both sides must enable it
    # The route server connects too (default: it only waits), for routers that never connect.
    active_session: bool = False
    # Put the route server's ASN first in paths sent to this member, for routers that insist
    # on the neighbour's ASN first (arouteserver's prepend_rs_as); the RS stays transparent
    # for everybody else.
    prepend_rs_asn: bool = False
    # RFC 8950: IPv4 routes also travel over this member's IPv6 sessions, with IPv6 next hops.
    extended_next_hop: bool = False
    # RFC 7911: send this member every path it may receive, not only the best one; its
    # router must enable ADD-PATH receive too.
    add_paths_tx: bool = False
    # Added to blackhole routes sent to this member ("A:B" or large "A:B:C"): the community
    # its own routers already drop traffic for (its RTBH trigger).
    blackhole_community: Annotated[
        str, Field(max_length=32, pattern=r"^\d{1,10}:\d{1,10}(:\d{1,10})?$")
    ] | None = None
    policy: MemberPolicy = MemberPolicy()
    # Refused from this member only, on top of route_server.policy.deny.
    deny: DenyList = DenyList()
    # Set for a root server instance: its session accepts only its operator's prefixes.
    root_instance: RootInstance | None = None

    @model_validator(mode="after")
    def _extended_next_hop_needs_ipv6(self) -> Member:
        if self.extended_next_hop and not self.ipv6:
            raise ValueError("extended_next_hop carries IPv4 routes over the member's IPv6 "
                             "session: give the member an ipv6 address, or set "
                             "extended_next_hop to false")
        return self

    @model_validator(mode="after")
    def _blackhole_community_fits(self) -> Member:
        if self.blackhole_community is not None:
            parts = [int(p) for p in self.blackhole_community.split(":")]
            limit = 2**16 if len(parts) == 2 else 2**32
            if any(p >= limit for p in parts):
                raise ValueError(f"blackhole_community {self.blackhole_community}: each part "
                                 f"of a {'standard' if len(parts) == 2 else 'large'} community "
                                 f"must be below {limit}")
        return self

    def blackhole_community_parts(self) -> tuple[int, ...] | None:
        """``blackhole_community`` as numbers: two (standard) or three (large); or None."""
        if self.blackhole_community is None:
            return None
        return tuple(int(p) for p in self.blackhole_community.split(":"))


class HealthCheck(StrictModel):
    """How the anycast helper decides that a service is healthy."""

    query_name: Hostname | Literal["."] = "."
    interval: Annotated[int, Field(ge=1, le=3600)] = 10
    timeout: Annotated[int, Field(ge=1, le=60)] = 2
    rise: Annotated[int, Field(ge=1, le=100)] = 2
    fall: Annotated[int, Field(ge=1, le=100)] = 2


class AnycastPrefix(StrictModel):
    """A service prefix announced to the members only while its service answers."""

    prefix: IPNet
    check: HealthCheck = HealthCheck()


class Resolver(StrictModel):
    """The members' DNS resolver (unbound) with an optional local root zone."""

    enabled: bool = False
    ipv4: Annotated[list[IPv4Addr], Field(max_length=4)] = []
    ipv6: Annotated[list[IPv6Addr], Field(max_length=4)] = []
    local_root: bool = True
    allowed_networks: Annotated[list[IPNet], Field(max_length=64)] = []
    # Queries per second from one client address: a member's resolver farm behind one
    # address stays well below; a reflection attack through the box does not.
    ip_ratelimit: Annotated[int, Field(ge=1, le=1_000_000)] = 500
    # Queries per second towards one zone's servers (random-subdomain floods).
    ratelimit: Annotated[int, Field(ge=1, le=1_000_000)] = 1000


class LookingGlass(StrictModel):
    """Who may use the looking glass."""

    # True: members read it without an account (read-only, no configuration shown).
    public: bool = False
    # Clients (an Alice-LG server) that read the birdwatcher API without a login or token
    # and without the anonymous limits, public glass or not.
    allowed_networks: Annotated[list[IPNet], Field(max_length=32)] = []


class Metrics(StrictModel):
    """Who may read /metrics without logging in (a Prometheus scraper has no account)."""

    # Scrapers' source networks; besides them: logged-in users, API tokens, and anyone when
    # the looking glass is public.
    allowed_networks: Annotated[list[IPNet], Field(max_length=32)] = []


class Services(StrictModel):
    """Services the box offers to its members."""

    resolver: Resolver = Resolver()
    looking_glass: LookingGlass = LookingGlass()
    metrics: Metrics = Metrics()
    anycast: Annotated[list[AnycastPrefix], Field(max_length=16)] = []


_COMMUNITY = Annotated[str, Field(min_length=6, max_length=32, pattern=r"^[!-~]+$")]
_SECRET = Annotated[str, Field(min_length=8, max_length=64, pattern=r"^[ -~]+$")]


class SnmpCommunity(StrictModel):
    """An SNMPv2c read-only community, usable only from the listed networks."""

    community: _COMMUNITY
    allowed_networks: Annotated[list[IPNet], Field(min_length=1, max_length=32)]


class SnmpUser(StrictModel):
    """An SNMPv3 USM user; always authPriv."""

    name: Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")]
    auth_protocol: Literal["SHA-256", "SHA-384", "SHA-512"] = "SHA-256"
    auth_password: _SECRET
    priv_protocol: Literal["AES-128"] = "AES-128"
    priv_password: _SECRET
    # Empty: from anywhere the management firewall lets SNMP in.
    allowed_networks: Annotated[list[IPNet], Field(max_length=32)] = []


class Snmp(StrictModel):
    """The read-only SNMP agent."""

    enabled: bool = False
    port: Annotated[int, Field(ge=1, le=65535)] = 161
    location: Annotated[str, Field(max_length=200)] = ""
    communities: Annotated[list[SnmpCommunity], Field(max_length=16)] = []
    users: Annotated[list[SnmpUser], Field(max_length=16)] = []


# -- alerts (appliance/alerts/) -----------------------------------------------------------


class AlertRule(StrictModel):
    """An alert without a threshold of its own: on or off."""

    enabled: bool = True


class HeldAlertRule(StrictModel):
    """An alert that fires once its cause has lasted ``minutes`` (0: at the first round)."""

    enabled: bool = True
    minutes: Annotated[int, Field(ge=0, le=10_080)] = 5


class HygieneAlertRule(StrictModel):
    """Frames from one member's port dropped by the hygiene rules, above a rate."""

    enabled: bool = True
    # dropped frames per minute, over one collector round, for one port and one reason
    per_minute: Annotated[int, Field(ge=1, le=10_000_000)] = 10


class FilteredAlertRule(StrictModel):
    """A member's routes refused as RPKI Invalid or not registered in the IRR."""

    enabled: bool = True
    minutes: Annotated[int, Field(ge=0, le=10_080)] = 60


class StaleDataAlertRule(StrictModel):
    """The route server's RPKI or IRR data older than ``days``."""

    enabled: bool = True
    days: Annotated[int, Field(ge=1, le=365)] = 7


class DiskAlertRule(StrictModel):
    """The state directory's disk fuller than ``percent``."""

    enabled: bool = True
    percent: Annotated[int, Field(ge=50, le=99)] = 90


class AlertRules(StrictModel):
    """Every alert the box raises; each can be switched off or given its own threshold."""

    session_down: HeldAlertRule = HeldAlertRule(minutes=5)
    max_prefix: AlertRule = AlertRule()
    port_down: HeldAlertRule = HeldAlertRule(minutes=1)
    hygiene_drops: HygieneAlertRule = HygieneAlertRule()
    filtered_routes: FilteredAlertRule = FilteredAlertRule()
    filter_data_stale: StaleDataAlertRule = StaleDataAlertRule()
    anycast_withdrawn: HeldAlertRule = HeldAlertRule(minutes=1)
    root_zone_stale: AlertRule = AlertRule()
    disk_full: DiskAlertRule = DiskAlertRule()
    firmware_rolled_back: AlertRule = AlertRule()
    config_applied: AlertRule = AlertRule()


class AlertEmail(StrictModel):
    """Alert mail through the operator's SMTP relay."""

    enabled: bool = False
    relay: HostOrIP | None = None
    port: Annotated[int, Field(ge=1, le=65535)] = 587
    # STARTTLS before authenticating (port 587); off only for a relay on a trusted network.
    starttls: bool = True
    username: Annotated[str, Field(min_length=1, max_length=128,
                                   pattern=r"^[!-~]+$")] | None = None
    smtp_password: Annotated[str, Field(min_length=1, max_length=128,
                                        pattern=r"^[^\x00-\x1f\x7f]+$")] | None = None
    sender: EmailStr | None = None
    recipients: Annotated[list[EmailStr], Field(max_length=16)] = []

    @model_validator(mode="after")
    def _complete_when_enabled(self) -> AlertEmail:
        if self.enabled:
            missing = [n for n in ("relay", "sender") if getattr(self, n) is None]
            if not self.recipients:
                missing.append("recipients")
            if missing:
                raise ValueError("alert mail is enabled: set " + ", ".join(missing))
        if (self.username is None) != (self.smtp_password is None):
            raise ValueError("give both username and smtp_password for the relay, or neither")
        return self


class AlertWebhook(StrictModel):
    """A URL that gets every alert as a JSON POST."""

    url: Annotated[str, Field(pattern=r"^https?://[^\s]+$", max_length=500)]
    # Signs the body: header X-IXP-Signature: sha256=<hex HMAC-SHA256 of the body>.
    hmac_secret: Annotated[str, Field(min_length=16, max_length=128,
                                      pattern=r"^[!-~]+$")] | None = None


class AlertSyslog(StrictModel):
    """A remote syslog server (RFC 5424)."""

    host: HostOrIP
    port: Annotated[int, Field(ge=1, le=65535)] = 514
    transport: Literal["udp", "tcp"] = "udp"


class AlertSnmpManager(StrictModel):
    """An SNMP manager that gets SNMPv2c traps or SNMPv3 informs (acknowledged, authPriv)."""

    host: HostOrIP
    port: Annotated[int, Field(ge=1, le=65535)] = 162
    version: Literal["v2c", "v3"] = "v2c"
    # v2c
    community: _COMMUNITY | None = None
    # v3: a user the manager knows (its own engine ID: the manager is authoritative)
    user: Annotated[str, Field(min_length=1, max_length=32,
                               pattern=r"^[A-Za-z0-9_.-]+$")] | None = None
    auth_protocol: Literal["SHA-256", "SHA-384", "SHA-512"] = "SHA-256"
    auth_password: _SECRET | None = None
    priv_protocol: Literal["AES-128"] = "AES-128"
    priv_password: _SECRET | None = None

    @model_validator(mode="after")
    def _credentials_for_the_version(self) -> AlertSnmpManager:
        if self.version == "v2c" and self.community is None:
            raise ValueError("an SNMPv2c manager needs a community (or set version: v3)")
        if self.version == "v3":
            missing = [n for n in ("user", "auth_password", "priv_password")
                       if getattr(self, n) is None]
            if missing:
                raise ValueError("an SNMPv3 manager needs " + ", ".join(missing))
        return self


class MonthlyReport(StrictModel):
    """Each member's report card of the past calendar month, mailed to its NOC (noc_email)
    through the alert mail's relay and sender (docs/alerts.md)."""

    # On by default, but nothing goes out until alerts.email is enabled: the report uses
    # its relay. A member opts out with its own monthly_report: false.
    enabled: bool = True
    # A copy of each report to the alert mail's recipients (Bcc: the member does not see it).
    copy_to_operator: bool = False


class Alerts(StrictModel):
    """What the box tells the operator, and how (docs/alerts.md)."""

    # Off: no rule is checked and nothing is sent. On with no channel: the Alerts page,
    # ixpctl alerts and the API still list them.
    enabled: bool = True
    # After an alert was sent, the same alert (same cause, same member) that resolves and
    # fires again within this time is recorded but not sent again: a flapping session is
    # one message, not one per flap.
    quiet_minutes: Annotated[int, Field(ge=0, le=1440)] = 30
    rules: AlertRules = AlertRules()
    email: AlertEmail = AlertEmail()
    webhooks: Annotated[list[AlertWebhook], Field(max_length=8)] = []
    syslog: Annotated[list[AlertSyslog], Field(max_length=8)] = []
    snmp_managers: Annotated[list[AlertSnmpManager], Field(max_length=8)] = []
    monthly_report: MonthlyReport = MonthlyReport()


class AdminUser(StrictModel):
    """A person who may log in to the web UI. Only an argon2 hash is ever stored."""

    name: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_.-]*$")]
    password_hash: Annotated[str, Field(pattern=r"^\$argon2id\$v=\d+\$[^\s]+$", max_length=512)]
    role: Literal["admin", "viewer", "member"] = "admin"
    # A member's own login (role member): only that ASN's pages (report card, onboarding).
    asn: Annotated[int, Field(ge=1, le=4294967295)] | None = None


class IXPConfig(StrictModel):
    """The whole appliance configuration (the YAML file, one revision in the store)."""

    version: Literal[1] = 1
    lab: bool = False
    identity: Identity
    management: Management = Management()
    peering_lan: PeeringLan
    route_server: RouteServer
    members: Annotated[list[Member], Field(max_length=5000)] = []
    services: Services = Services()
    snmp: Snmp = Snmp()
    alerts: Alerts = Alerts()
    admin_users: Annotated[list[AdminUser], Field(max_length=100)] = []

    def effective_policy(self, member: Member) -> RoutingPolicy:
        """The route-server policy for ``member``: the global one with its overrides applied."""
        overrides = member.policy.model_dump(exclude_none=True)
        if not overrides:
            return self.route_server.policy
        return self.route_server.policy.model_copy(update=overrides)

    def has_admin(self) -> bool:
        """Whether somebody may log in and change things (an admin user with role admin)."""
        return any(u.role == "admin" for u in self.admin_users)

    def member_by_asn(self, asn: int) -> list[Member]:
        """Every member entry with this ASN (a member may connect more than one router)."""
        return [m for m in self.members if m.asn == asn]
