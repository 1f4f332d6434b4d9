"""The BGP4-MIB tests' route server and member: their BIRD configurations (the nodes are the
lab harness's, ``labkit.netlab``)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from appliance.platform.bird import query
from labkit.netlab import wait_for
from tests.snmp.snmplab import KORERO

# Two sessions carry descriptions outside Latin-1 (issue 13): one short, one longer than
# SnmpAdminString's 255 bytes with its 255th byte inside a character.
KORERO_DESCR = f"AS64497 {KORERO}"
LONG_DESCR = "AS64498 " + " · ".join([KORERO] * 9)

RS_ASN = 64511
RS_V4, RS_V6 = "203.0.113.1", "2001:db8:eeee::1"
MEMBER_V4, MEMBER_V6 = "203.0.113.10", "2001:db8:eeee::10"

RS_CONF = f"""
router id {RS_V4};
timeformat protocol iso long;
protocol device {{ }}
template bgp mbr {{
  local as {RS_ASN};
  rs client;
  hold time 90;
}}
protocol bgp as64496_v4 from mbr {{
  description "Island Telecom";
  neighbor {MEMBER_V4} as 64496;
  ipv4 {{ import all; export all; }};
}}
protocol bgp as64496_v6 from mbr {{
  description "Island Telecom";
  neighbor {MEMBER_V6} as 64496;
  ipv6 {{ import all; export all; }};
}}
protocol bgp as64497_v4 from mbr {{
  description "{KORERO_DESCR}";
  neighbor 203.0.113.11 as 64497;
  ipv4 {{ import all; export all; }};
}}
protocol bgp as64498_v4 from mbr {{
  description "{LONG_DESCR}";
  disabled;
  neighbor 203.0.113.12 as 64498;
  ipv4 {{ import all; export all; }};
}}
"""

MEMBER_CONF = f"""
router id {MEMBER_V4};
protocol device {{ }}
protocol static s4 {{ ipv4; route 198.51.100.0/24 blackhole; route 192.0.2.128/25 blackhole; }}
protocol static s6 {{ ipv6; route 2001:db8:1000::/48 blackhole; }}
protocol bgp rs_v4 {{
  local as 64496;
  neighbor {RS_V4} as {RS_ASN};
  ipv4 {{ import all; export all; }};
}}
protocol bgp rs_v6 {{
  local as 64496;
  neighbor {RS_V6} as {RS_ASN};
  ipv6 {{ import all; export all; }};
}}
"""


def wait_established(sock: Path, protocols: list[str], timeout: float = 60) -> None:
    """Poll until every protocol in ``protocols`` is Established (asked over BIRD's socket)."""
    wait_for(f"{', '.join(protocols)} Established",
             lambda: {p.name for p in query.protocols(sock) if p.established} >= set(protocols),
             timeout)


def stop(proc: subprocess.Popen | None) -> None:
    """Stop a BIRD we started (by its PID)."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
