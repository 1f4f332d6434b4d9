"""Pure rendering of the management plane: the management NIC's systemd-networkd file, the NTP
client's drop-in, and the address settings that decide whether a change goes on trial.

Same input, same bytes; no I/O. The files are installed under ``<state>/etc/management/`` by
the pipeline and copied to the host's ``/etc`` by the concern, on the image only.
"""

from __future__ import annotations

import ipaddress
from dataclasses import asdict, dataclass

from appliance.config.model import IXPConfig, Management

NETWORK_FILE = "management/10-ixp-mgmt.network"
TIMESYNCD_FILE = "management/timesyncd.conf"
HOSTNAME_FILE = "management/hostname"
TIMEZONE_FILE = "management/timezone"
# The address a laptop cabled straight to the management port reaches when no DHCP server
# answers (docs/install.md). Kept next to a static address too, unless that one is in its net.
FALLBACK_V4 = ipaddress.IPv4Interface("192.168.254.1/24")


@dataclass(frozen=True)
class AddressPlan:
    """What decides how the box is reached: a change here is applied on trial."""

    interface: str
    ipv4: str  # "dhcp" or address/length
    ipv4_gateway: str | None
    ipv6: str  # "auto", "none" or address/length
    ipv6_gateway: str | None

    def as_dict(self) -> dict[str, str | None]:
        """JSON form (the trial records)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> AddressPlan:
        """Read a trial record back; raises ``KeyError``/``TypeError`` on a damaged one."""
        def text(key: str) -> str:
            value = data[key]
            if not isinstance(value, str):
                raise TypeError(f"{key} is not a string")
            return value

        def maybe(key: str) -> str | None:
            value = data.get(key)
            return value if isinstance(value, str) else None
        return cls(text("interface"), text("ipv4"), maybe("ipv4_gateway"), text("ipv6"),
                   maybe("ipv6_gateway"))

    def static_addresses(self) -> list[str]:
        """The fixed addresses (without length) this plan gives the box, if any."""
        out = []
        for value in (self.ipv4, self.ipv6):
            if "/" in value:
                out.append(str(ipaddress.ip_interface(value).ip))
        return out

    def describe(self) -> str:
        """In words, for the review and the trial notice."""
        v4 = "DHCP" if self.ipv4 == "dhcp" else self.ipv4 + (
            f" via {self.ipv4_gateway}" if self.ipv4_gateway else "")
        v6 = {"auto": "IPv6 from router advertisements", "none": "no IPv6"}.get(
            self.ipv6, self.ipv6 + (f" via {self.ipv6_gateway}" if self.ipv6_gateway else ""))
        return f"{self.interface}: {v4}, {v6}"


def address_plan(mgmt: Management) -> AddressPlan:
    """The address settings of ``mgmt``."""
    return AddressPlan(
        interface=mgmt.interface,
        ipv4=str(mgmt.ipv4),
        ipv4_gateway=str(mgmt.ipv4_gateway) if mgmt.ipv4_gateway else None,
        ipv6=str(mgmt.ipv6),
        ipv6_gateway=str(mgmt.ipv6_gateway) if mgmt.ipv6_gateway else None,
    )


def dhcp_plan(interface: str) -> AddressPlan:
    """What a freshly flashed box runs: DHCP and router advertisements (ixp-host-init)."""
    return AddressPlan(interface, "dhcp", None, "auto", None)


def render_network(mgmt: Management) -> str:
    """The management NIC's ``.network`` file for systemd-networkd."""
    lines = [
        "# Rendered by the IXP appliance from management.* of the applied revision.",
        "# Do not edit: change it in the web UI (Settings, Management network) or with ixpctl.",
        "[Match]",
        f"Name={mgmt.interface}",
        "",
        "[Network]",
    ]
    dhcp = mgmt.ipv4 == "dhcp"
    if dhcp:
        lines.append("DHCP=ipv4")
    else:
        lines.append(f"Address={mgmt.ipv4}")
        if mgmt.ipv4_gateway:
            lines.append(f"Gateway={mgmt.ipv4_gateway}")
    if dhcp or FALLBACK_V4.ip not in ipaddress.ip_interface(str(mgmt.ipv4)).network:
        lines.append(f"# Fallback for a laptop cabled straight to this port: "
                     f"https://{FALLBACK_V4.ip}/")
        lines.append(f"Address={FALLBACK_V4}")
    if mgmt.ipv6 == "none":
        lines += ["LinkLocalAddressing=no", "IPv6AcceptRA=no"]
    elif mgmt.ipv6 == "auto":
        lines += ["LinkLocalAddressing=ipv6", "IPv6AcceptRA=yes"]
    else:
        lines += ["LinkLocalAddressing=ipv6", "IPv6AcceptRA=no", f"Address={mgmt.ipv6}"]
        if mgmt.ipv6_gateway:
            lines.append(f"Gateway={mgmt.ipv6_gateway}")
    lines += [f"DNS={server}" for server in mgmt.dns]
    if dhcp:
        # Servers the operator listed replace the DHCP server's, so what runs is what was typed.
        lines += ["", "[DHCPv4]", "UseDomains=yes", f"UseDNS={'no' if mgmt.dns else 'yes'}",
                  "UseNTP=no"]
    if mgmt.ipv6 == "auto":
        lines += ["", "[IPv6AcceptRA]", f"UseDNS={'no' if mgmt.dns else 'yes'}"]
    return "\n".join(lines) + "\n"


def render_timesyncd(mgmt: Management) -> str:
    """systemd-timesyncd's drop-in: the NTP servers, none from DHCP (the list is the truth)."""
    servers = " ".join(mgmt.ntp)
    return ("# Rendered by the IXP appliance from management.ntp.\n"
            "[Time]\n"
            f"NTP={servers}\n"
            # an empty fallback list: no Debian pool behind the operator's back
            "FallbackNTP=\n")


def render_files(cfg: IXPConfig) -> dict[str, str]:
    """Every management file of ``cfg`` by its path under ``etc/``."""
    mgmt = cfg.management
    return {
        NETWORK_FILE: render_network(mgmt),
        TIMESYNCD_FILE: render_timesyncd(mgmt),
        HOSTNAME_FILE: mgmt.hostname + "\n",
        TIMEZONE_FILE: mgmt.timezone + "\n",
    }
