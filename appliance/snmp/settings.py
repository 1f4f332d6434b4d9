"""The agent's own configuration file (``etc/snmp/agent.json``), rendered by ``SnmpConcern``.

The agent reads only this file, not the whole IXP model: it holds exactly what the agent needs,
and ``load_settings`` is also the concern's verify step, so a file the agent would refuse never
gets installed.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

AUTH_PROTOCOLS = ("SHA-256", "SHA-384", "SHA-512")
PRIV_PROTOCOLS = ("AES-128",)
ROLES = ("member", "bridge", "management")


class SettingsError(ValueError):
    """The agent configuration file is unusable; the message says which field and why."""


@dataclass(frozen=True)
class Community:
    """An SNMPv2c community and the source networks it may be used from."""

    community: str
    allowed_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]

    def allows(self, address: str) -> bool:
        """Whether a request from ``address`` may use this community."""
        return address_in(address, self.allowed_networks)


def address_in(address: str, networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
               ) -> bool:
    """Whether ``address`` (v4, v6, v4-mapped v6, or with a %zone) lies in one of ``networks``."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip.version == n.version and ip in n for n in networks)


@dataclass(frozen=True)
class User:
    """An SNMPv3 USM user (always authPriv)."""

    name: str
    auth_protocol: str
    auth_password: str
    priv_protocol: str
    priv_password: str
    allowed_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()


@dataclass(frozen=True)
class Interface:
    """An interface the IF-MIB shows, with the alias operators see in their graphs."""

    name: str
    alias: str
    role: str


@dataclass(frozen=True)
class Settings:
    """Everything the agent needs to run."""

    enabled: bool = False
    listen_addresses: tuple[str, ...] = ()
    listen_interface: str | None = None
    port: int = 161
    sys_name: str = ""
    sys_contact: str = ""
    sys_location: str = ""
    communities: tuple[Community, ...] = ()
    users: tuple[User, ...] = ()
    interfaces: tuple[Interface, ...] = ()
    local_as: int | None = None
    router_id: str | None = None


def _req(d: dict[str, Any], key: str, kind: type, where: str) -> Any:
    if key not in d:
        raise SettingsError(f"{where}.{key} is missing")
    value = d[key]
    if (kind is int and isinstance(value, bool)) or not isinstance(value, kind):
        raise SettingsError(f"{where}.{key} must be a {kind.__name__}, not {value!r}")
    return value


def _community(d: dict[str, Any], i: int) -> Community:
    where = f"communities[{i}]"
    text = _req(d, "community", str, where)
    if not 6 <= len(text) <= 32:
        raise SettingsError(f"{where}.community must be 6 to 32 characters long")
    nets = _req(d, "allowed_networks", list, where)
    if not nets:
        raise SettingsError(f"{where}.allowed_networks must name at least one network")
    try:
        parsed = tuple(ipaddress.ip_network(n, strict=False) for n in nets)
    except ValueError as exc:
        raise SettingsError(f"{where}.allowed_networks: {exc}") from None
    return Community(text, parsed)


def _networks(items: Any, where: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network,
                                               ...]:
    if not isinstance(items, list):
        raise SettingsError(f"{where} must be a list of networks")
    try:
        return tuple(ipaddress.ip_network(n, strict=False) for n in items)
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"{where}: {exc}") from None


def _user(d: dict[str, Any], i: int) -> User:
    where = f"users[{i}]"
    user = User(
        _req(d, "name", str, where), _req(d, "auth_protocol", str, where),
        _req(d, "auth_password", str, where), _req(d, "priv_protocol", str, where),
        _req(d, "priv_password", str, where),
        _networks(d.get("allowed_networks", []), f"{where}.allowed_networks"),
    )
    if user.auth_protocol not in AUTH_PROTOCOLS:
        raise SettingsError(f"{where}.auth_protocol must be one of {', '.join(AUTH_PROTOCOLS)}")
    if user.priv_protocol not in PRIV_PROTOCOLS:
        raise SettingsError(f"{where}.priv_protocol must be one of {', '.join(PRIV_PROTOCOLS)}")
    for key in ("auth_password", "priv_password"):
        if len(getattr(user, key)) < 8:
            raise SettingsError(f"{where}.{key} must be at least 8 characters (RFC 3414)")
    return user


def _interface(d: dict[str, Any], i: int) -> Interface:
    where = f"interfaces[{i}]"
    iface = Interface(_req(d, "name", str, where), str(d.get("alias", "")),
                      _req(d, "role", str, where))
    if iface.role not in ROLES:
        raise SettingsError(f"{where}.role must be one of {', '.join(ROLES)}")
    return iface


def parse_settings(data: dict[str, Any]) -> Settings:
    """Check and convert the decoded JSON; raise ``SettingsError`` naming the field."""
    if not isinstance(data, dict) or data.get("version") != 1:
        raise SettingsError("the file must be a JSON object with \"version\": 1")
    listen = data.get("listen", {})
    addresses = tuple(listen.get("addresses", []))
    for a in addresses:
        try:
            ipaddress.ip_address(a)
        except ValueError:
            raise SettingsError(f"listen.addresses: {a!r} is not an IP address") from None
    port = _req(listen, "port", int, "listen")
    if not 1 <= port <= 65535:
        raise SettingsError("listen.port must be between 1 and 65535")
    system = data.get("system", {})
    bgp = data.get("bgp", {})
    interfaces = tuple(_interface(x, i) for i, x in enumerate(data.get("interfaces", [])))
    names = [x.name for x in interfaces]
    if len(set(names)) != len(names):
        raise SettingsError("interfaces: an interface is listed twice")
    return Settings(
        enabled=bool(data.get("enabled", False)),
        listen_addresses=addresses,
        listen_interface=listen.get("interface"),
        port=port,
        sys_name=str(system.get("name", "")),
        sys_contact=str(system.get("contact", "")),
        sys_location=str(system.get("location", "")),
        communities=tuple(_community(x, i) for i, x in enumerate(data.get("communities", []))),
        users=tuple(_user(x, i) for i, x in enumerate(data.get("users", []))),
        interfaces=interfaces,
        local_as=bgp.get("local_as"),
        router_id=bgp.get("router_id"),
    )


def load_settings(path: str | Path) -> Settings:
    """Read and check an agent configuration file."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise SettingsError(f"{path}: not valid JSON: {exc}") from None
    return parse_settings(data)
