"""unbound.conf from the model: pure, same input → same bytes, no I/O beyond the template.

What the file says, in short: listen only on the resolver's service addresses; answer only the
peering LAN, the management networks and the networks the operator allowed (everyone else gets
REFUSED, so the box is never an open resolver); validate DNSSEC from the root trust anchor; keep
a local, validated copy of the root zone (RFC 8806); rate-limit per client and per zone.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from jinja2 import Environment

from appliance.config.model import IXPConfig
from appliance.platform.templates import environment

# Servers that allow transfers of the root zone (RFC 8806 appendix A; IANA's list).
# Addresses, never names: resolving a name here would depend on the zone being fetched.
ROOT_PRIMARIES: tuple[tuple[str, str], ...] = (
    ("170.247.170.2", "b.root-servers.net"),
    ("2801:1b8:10::b", "b.root-servers.net"),
    ("192.33.4.12", "c.root-servers.net"),
    ("2001:500:2::c", "c.root-servers.net"),
    ("199.7.91.13", "d.root-servers.net"),
    ("2001:500:2d::d", "d.root-servers.net"),
    ("192.5.5.241", "f.root-servers.net"),
    ("2001:500:2f::f", "f.root-servers.net"),
    ("192.112.36.4", "g.root-servers.net"),
    ("2001:500:12::d0d", "g.root-servers.net"),
    ("193.0.14.129", "k.root-servers.net"),
    ("2001:7fd::1", "k.root-servers.net"),
    ("192.0.47.132", "xfr.cjr.dns.icann.org"),
    ("2620:0:2830:202::132", "xfr.cjr.dns.icann.org"),
    ("192.0.32.132", "xfr.lax.dns.icann.org"),
    ("2620:0:2d0:202::132", "xfr.lax.dns.icann.org"),
)

# Files inside unbound's working directory (<state_dir>/unbound/).
ROOT_ZONE_FILE = "root.zone"
TRUST_ANCHOR_FILE = "root.key"


@dataclass(frozen=True)
class RootZone:
    """Where the local root copy comes from and how it is checked before use."""

    # (address, comment) pairs; empty = serve the zonefile as it is (test fixtures only)
    primaries: tuple[tuple[str, str], ...] = ROOT_PRIMARIES
    zonefile: str = ROOT_ZONE_FILE
    # ZONEMD (RFC 8976) digest of the whole zone, checked with DNSSEC; the real root has one.
    zonemd_check: bool = True
    # A zone file copied into place when there is none yet (an offline island's first start,
    # or the tests' fixture root). Not rendered; unbound replaces it after each transfer.
    seed: str | None = None


@dataclass(frozen=True)
class RenderOptions:
    """Settings not (yet) in the model; the defaults are the appliance's."""

    root_zone: RootZone = field(default_factory=RootZone)
    # RFC 5011-tracked root trust anchor in the working directory, seeded from dns-root-data.
    # None turns validation off: only for the tests' unsigned fixture root.
    trust_anchor: str | None = TRUST_ANCHOR_FILE
    port: int = 53
    # Override services.resolver.ip_ratelimit / ratelimit (tests use tiny limits).
    ip_ratelimit: int | None = None
    ratelimit: int | None = None
    verbosity: int = 1


@dataclass(frozen=True)
class Access:
    """One access-control line."""

    network: str
    action: str
    why: str


def _env() -> Environment:
    return environment("appliance.resolver")


def access_list(cfg: IXPConfig) -> list[Access]:
    """Who may query: refuse everyone, then allow the LAN, management, extra networks.

    unbound picks the most specific matching netblock, so the order does not matter; the list
    is sorted (and deduplicated) to keep the output stable.
    """
    out: dict[str, Access] = {}

    def add(net: ipaddress.IPv4Network | ipaddress.IPv6Network, action: str, why: str) -> None:
        out.setdefault(str(net), Access(str(net), action, why))

    lan = cfg.peering_lan
    add(ipaddress.ip_network("0.0.0.0/0"), "refuse", "everyone else: not an open resolver")
    add(ipaddress.ip_network("::/0"), "refuse", "everyone else: not an open resolver")
    # The box itself (health checks, unbound-control) and its own service addresses.
    add(ipaddress.ip_network("127.0.0.0/8"), "allow", "this box")
    add(ipaddress.ip_network("::1/128"), "allow", "this box")
    add(lan.ipv4_prefix, "allow", "peering LAN")
    if lan.ipv6_prefix is not None:
        add(lan.ipv6_prefix, "allow", "peering LAN")
    for net in cfg.management.allowed_networks:
        add(net, "allow", "management.allowed_networks")
    for net in cfg.services.resolver.allowed_networks:
        add(net, "allow", "services.resolver.allowed_networks")
    res = cfg.services.resolver
    for addr in [*res.ipv4, *res.ipv6]:
        add(ipaddress.ip_network(addr), "allow", "the service address itself (health check)")
    return sorted(out.values(), key=lambda a: (ipaddress.ip_network(a.network).version,
                                               ipaddress.ip_network(a.network)))


def service_addresses(cfg: IXPConfig) -> list[str]:
    """The addresses unbound listens on, IPv4 first."""
    res = cfg.services.resolver
    return [str(a) for a in res.ipv4] + [str(a) for a in res.ipv6]


def render_unbound(cfg: IXPConfig, options: RenderOptions | None = None) -> str:
    """The text of ``unbound/unbound.conf`` for ``cfg``. Pure."""
    opts = options or RenderOptions()
    res = cfg.services.resolver
    return _env().get_template("unbound.conf.j2").render(
        ixp=cfg.identity.short_name,
        interfaces=service_addresses(cfg),
        access=access_list(cfg),
        opts=opts,
        ip_ratelimit=opts.ip_ratelimit or res.ip_ratelimit,
        ratelimit=opts.ratelimit or res.ratelimit,
        local_root=res.local_root,
        root=opts.root_zone,
    )


def render_launch(conf: str, directory: str, pidfile: str, control_socket: str,
                  username: str | None = None) -> str:
    """The launch file: the absolute paths of one instance, then the rendered file. Pure.

    ``username`` (the image only) makes unbound drop root to that user after binding.
    """
    return _env().get_template("launch.conf.j2").render(
        conf=conf, directory=directory, pidfile=pidfile, control_socket=control_socket,
        username=username)
