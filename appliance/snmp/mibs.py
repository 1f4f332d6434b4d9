"""Which MIB sections the agent serves, built from its settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from appliance.snmp.bgp_model import BgpSource
from appliance.snmp.bgp_source import BirdSource
from appliance.snmp.ifindex import IfIndexMap
from appliance.snmp.mib_bgp import bgp_sections
from appliance.snmp.mib_host import host_section
from appliance.snmp.mib_if import InterfaceSource, ifx_section, interfaces_section
from appliance.snmp.mib_services import services_section
from appliance.snmp.mib_system import engine_section, sys_descr, system_section, uptime_ticks_fn
from appliance.snmp.oidstore import Section
from appliance.snmp.settings import Settings


@dataclass
class MibOptions:
    """Tunables: how long snapshots live, where BIRD's control socket is."""

    if_ttl: float = 5.0
    host_ttl: float = 5.0
    bgp_ttl: float = 10.0
    bird_socket: str | None = None
    bgp_source: BgpSource | None = None  # overrides bird_socket (the shared BIRD client)
    services_ttl: float = 10.0
    state_dir: Path | None = None  # where the resolver and anycast helper keep their state


def build_tree(settings: Settings, ifindex: IfIndexMap, started: float,
               engine_values: Callable[[], tuple[bytes, int, int, int]] | None, version: str,
               opts: MibOptions) -> list[Section]:
    """Every section for ``settings``; ``started`` is the agent's start (sysUpTime zero);
    ``engine_values`` gives the snmpEngine objects (None: not served)."""
    source = InterfaceSource(settings.interfaces, ifindex, uptime_ticks_fn(started),
                             ttl=opts.if_ttl)
    sections = [
        system_section(sys_descr(version), settings.sys_name, settings.sys_contact,
                       settings.sys_location, started),
        interfaces_section(source, opts.if_ttl),
        ifx_section(source, opts.if_ttl),
        host_section(opts.host_ttl),
    ]
    if opts.bird_socket or opts.bgp_source is not None:
        source = opts.bgp_source or BirdSource(opts.bird_socket or "", settings.local_as,
                                                settings.router_id)
        sections.extend(bgp_sections(source, opts.bgp_ttl))
    if opts.state_dir is not None:
        sections.append(services_section(opts.state_dir, opts.services_ttl))
    if engine_values is not None:
        sections.append(engine_section(engine_values))
    return sections
