"""Pure rendering of the agent's configuration file from the IXP model."""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from appliance.config.model import IXPConfig
from appliance.snmp.paths import AGENT_FILE as AGENT_FILE  # re-exported: its old home


def port_ifname(interface: str, vlan: int | None) -> str:
    """The device a member port is: the NIC, or its VLAN device ``<nic>.<vid>``."""
    return interface if vlan is None else f"{interface}.{vlan}"


def member_alias(asn: int, name: str) -> str:
    """ifAlias of a member port: what graphs show.

    At most 64 characters here; the agent serves it as UTF-8 cut to IF-MIB's 64 octets at a
    character boundary (``appliance.snmp.text``).
    """
    return f"AS{asn} {name}"[:64]


def agent_config(cfg: IXPConfig) -> dict[str, Any]:
    """The agent's settings as a JSON-ready dict."""
    mgmt = cfg.management
    addresses = [str(a.ip) for a in (mgmt.ipv4, mgmt.ipv6)
                 if isinstance(a, ipaddress.IPv4Interface | ipaddress.IPv6Interface)]
    interfaces = [{"name": mgmt.interface, "alias": "management", "role": "management"},
                  {"name": cfg.peering_lan.bridge,
                   "alias": f"{cfg.identity.short_name} peering LAN"[:64], "role": "bridge"}]
    seen = {mgmt.interface, cfg.peering_lan.bridge}
    for m in cfg.members:
        for p in m.ports:
            name = port_ifname(p.interface, p.vlan)
            if name not in seen:  # semantic validation reports shared ports; never list twice
                seen.add(name)
                interfaces.append({"name": name, "alias": member_alias(m.asn, m.name),
                                   "role": "member"})
    location = cfg.snmp.location or ", ".join(
        x for x in (cfg.identity.city, cfg.identity.country) if x)
    return {
        "version": 1,
        "enabled": cfg.snmp.enabled,
        "listen": {"addresses": addresses, "interface": mgmt.interface, "port": cfg.snmp.port},
        "system": {"name": mgmt.hostname, "contact": str(cfg.identity.contact_email),
                   "location": location},
        "communities": [{"community": c.community,
                         "allowed_networks": [str(n) for n in c.allowed_networks]}
                        for c in cfg.snmp.communities],
        "users": [{"name": u.name, "auth_protocol": u.auth_protocol,
                   "auth_password": u.auth_password, "priv_protocol": u.priv_protocol,
                   "priv_password": u.priv_password,
                   "allowed_networks": [str(n) for n in u.allowed_networks]}
                  for u in cfg.snmp.users],
        "interfaces": interfaces,
        "bgp": {"local_as": cfg.route_server.asn, "router_id": str(cfg.route_server.router_id)},
    }


def render_agent_config(cfg: IXPConfig) -> bytes:
    """``etc/snmp/agent.json``: same model, same bytes."""
    return (json.dumps(agent_config(cfg), indent=2, sort_keys=True) + "\n").encode("utf-8")
