"""Helpers for the firewall tests: a small appliance topology in namespaces, configs, probes.

Topology (every namespace made by the test's lab, ``labkit.netlab``, with its unique prefix)::

    m1 (route-server member) ──veth── ixp1 ┐
                                            ├ br-ixp  [appliance]  mgmt0 ──veth── laptop
    m2 (member without RS)   ──veth── ixp2 ┘

The appliance namespace runs real listeners on SSH, HTTP, HTTPS, BGP, DNS (TCP) and SNMP,
DNS (UDP), all bound to every address. m2 also carries addresses that are not a member's (a
stranger on the LAN) and addresses from networks routed behind it (allowed and not allowed to
use the resolver). The laptop has an address in the office network, one in a separate allowed
network and the image's recovery address.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from appliance.firewall.concern import FirewallConcern
from appliance.pipeline.core import CoreConcern
from appliance.pipeline.run import Outcome, Pipeline
from appliance.platform import netns as labns
from appliance.platform.target import Target
from labkit.netlab import NetLab, add_addresses, end_process, sh

NETPROBE = Path(__file__).resolve().parent / "netprobe.py"

LAN4, LAN6 = "203.0.113.0/24", "2001:db8:eeee::/64"
RS4, RS6 = "203.0.113.1", "2001:db8:eeee::1"
RES4, RES6 = "203.0.113.53", "2001:db8:eeee::53"
M1_4, M1_6 = "203.0.113.11", "2001:db8:eeee::11"
M2_4, M2_6 = "203.0.113.12", "2001:db8:eeee::12"
STRANGER4, STRANGER6 = "203.0.113.99", "2001:db8:eeee::99"  # on the LAN, no member's address
DNS_OK4, DNS_OK6 = "198.51.100.7", "2001:db8:5100::7"  # services.resolver.allowed_networks
DNS_NO4, DNS_NO6 = "100.64.0.7", "2001:db8:6400::7"  # routed behind m2, not allowed
MGMT4, MGMT6 = "192.0.2.1", "2001:db8:1::1"  # the appliance on the management NIC
LAPTOP4, LAPTOP6 = "192.0.2.10", "2001:db8:1::10"
NOC_MGMT4, NOC4 = "198.18.0.1", "198.18.0.10"  # a second network on the management side
RECOVERY_MGMT4, RECOVERY4 = "192.168.254.1", "192.168.254.2"

MGMT_TCP = (22, 80, 443)
SNMP_PORT = 161
TCP_PORTS = (22, 53, 80, 179, 443)
UDP_PORTS = (53, SNMP_PORT)


def config_data(*, allowed: list[str] | None = None, firewall: bool = True,
                snmp: bool = True) -> dict:
    """Config data for the topology: m1 peers with the route server, m2 does not."""
    return {
        "lab": True,
        "identity": {"name": "Firewall Test IX", "short_name": "FTIX", "country": "FJ",
                     "contact_email": "noc@ftix.example.net"},
        "management": {"interface": "mgmt0", "allowed_networks": allowed or [],
                       "firewall": firewall},
        "peering_lan": {"bridge": "br-ixp", "ipv4_prefix": LAN4, "ipv6_prefix": LAN6},
        "route_server": {"asn": 64511, "router_id": RS4, "ipv4": RS4, "ipv6": RS6},
        "members": [
            {"asn": 64496, "name": "Member One", "ports": ["ixp1"],
             "macs": ["02:00:5e:10:00:01"], "ipv4": [M1_4], "ipv6": [M1_6]},
            {"asn": 64497, "name": "Member Two", "ports": ["ixp2"],
             "macs": ["02:00:5e:10:00:02"], "ipv4": [M2_4], "ipv6": [M2_6],
             "route_server": False},
        ],
        "services": {"resolver": {"enabled": True, "ipv4": [RES4], "ipv6": [RES6],
                                  "allowed_networks": ["198.51.100.0/24",
                                                       "2001:db8:5100::/48"]}},
        "snmp": {"enabled": snmp, "users": [{"name": "librenms",
                                             "auth_password": "auth pass phrase",
                                             "priv_password": "priv pass phrase"}]},
    }


@dataclass
class Topology:
    """The namespaces of one test topology."""

    app: str
    m1: str
    m2: str
    laptop: str


def build(lab: NetLab) -> Topology:
    """The topology's namespaces and links, made by ``lab`` (which removes them)."""
    app = lab.namespace("ixp", quiet=True)
    sh(app, "ip", "link", "add", "br-ixp", "type", "bridge", "mcast_snooping", "0")
    add_addresses(app, "br-ixp", [f"{RS4}/24", f"{RES4}/24", f"{RS6}/64", f"{RES6}/64"])
    m1 = lab.add_host("m1", into=app, port="ixp1", bridge="br-ixp", mac="02:00:5e:10:00:01",
                      addrs=[f"{M1_4}/24", f"{M1_6}/64"])
    m2 = lab.add_host("m2", into=app, port="ixp2", bridge="br-ixp", mac="02:00:5e:10:00:02",
                      addrs=[f"{M2_4}/24", f"{STRANGER4}/24", f"{DNS_OK4}/32",
                             f"{DNS_NO4}/32", f"{M2_6}/64", f"{STRANGER6}/64",
                             f"{DNS_OK6}/128", f"{DNS_NO6}/128"])
    sh(app, "ip", "link", "set", "br-ixp", "up")
    # The networks behind m2 are routed to it, so the appliance can answer them.
    for net, via in (("198.51.100.0/24", M2_4), ("100.64.0.0/24", M2_4),
                     ("2001:db8:5100::/48", M2_6), ("2001:db8:6400::/48", M2_6)):
        sh(app, "ip", "route", "add", net, "via", via)
    laptop = lab.add_host("lap", into=app, port="mgmt0",
                          addrs=[f"{LAPTOP4}/24", f"{NOC4}/24", f"{RECOVERY4}/24",
                                 f"{LAPTOP6}/64"])
    add_addresses(app, "mgmt0", [f"{MGMT4}/24", f"{NOC_MGMT4}/24", f"{RECOVERY_MGMT4}/24",
                                 f"{MGMT6}/64"])
    sh(app, "ip", "link", "set", "mgmt0", "up")
    return Topology(app, m1.ns, m2.ns, laptop.ns)


@contextlib.contextmanager
def listeners(lab: NetLab, ns: str, tcp: tuple[int, ...] = TCP_PORTS,
              udp: tuple[int, ...] = UDP_PORTS) -> Iterator[subprocess.Popen[str]]:
    """Real servers on ``tcp`` and ``udp`` ports in ``ns``, started by ``lab``; stopped (by
    PID) when the block ends, or with the lab if that fails."""
    proc = lab.spawn(ns, [sys.executable, str(NETPROBE), "listen", ",".join(map(str, tcp)),
                          ",".join(map(str, udp))],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line == "ready", f"listeners did not start: {line} {proc.stderr.read()}"
        yield proc
    finally:
        end_process(proc)


Probe = tuple[str, str, int, str | None]  # proto, destination, port, source address


def probe(ns: str, probes: list[Probe]) -> dict[Probe, str]:
    """Run ``probes`` from ``ns`` in parallel; each one's result ("ok", "timeout", ...)."""
    out = labns.run(ns, [sys.executable, str(NETPROBE), "probe",
                         json.dumps([list(p) for p in probes])], timeout=60).stdout
    return dict(zip(probes, json.loads(out), strict=True))


def apply(state_dir: Path, app: str, data: dict,
          concern: FirewallConcern | None = None) -> Outcome:
    """Run the pipeline (core and firewall only) into the appliance namespace."""
    import yaml

    pipe = Pipeline(Target(state_dir, app), concerns=[CoreConcern(), concern or FirewallConcern()])
    return pipe.run(yaml.safe_dump(data), author="test")
