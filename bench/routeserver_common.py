"""Shared pieces of the route-server benchmarks: synthetic IXPs and arouteserver's inputs.

arouteserver is a benchmark-only comparison: the benchmarks install the version they compare
against (``ARS_VERSION``, 1.27.0) into a venv of their own under ``/var/cache/ixp-bench``, or
use ``ARS_BIN`` if set. It never runs as part of the appliance.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess
import sys
from pathlib import Path

from appliance.config.model import IXPConfig

LAN4 = ipaddress.IPv4Network("185.1.0.0/20")
LAN6 = ipaddress.IPv6Network("2001:7f8:ffff::/64")
RS_ASN = 65000


def ixp(n: int, max_prefix: int = 100) -> IXPConfig:
    """An IXP with ``n`` members, each with one IPv4 and one IPv6 address."""
    members = [{
        "max_prefix": {"ipv4": max_prefix, "ipv6": max_prefix},
        "asn": 10000 + i, "name": f"Member {i}", "ports": [f"p{i}"],
        "macs": [f"02:00:5e:{i // 65536:02x}:{i // 256 % 256:02x}:{i % 256:02x}"],
        "ipv4": [str(LAN4[i + 9])], "ipv6": [str(LAN6[i + 9])],
    } for i in range(1, n + 1)]
    return IXPConfig.model_validate({
        "identity": {"name": "Bench IX", "short_name": "BIX", "country": "FJ",
                     "contact_email": "noc@bix.example.net"},
        "peering_lan": {"ipv4_prefix": str(LAN4), "ipv6_prefix": str(LAN6)},
        "route_server": {"asn": RS_ASN, "router_id": str(LAN4[1]), "ipv4": str(LAN4[1]),
                         "ipv6": str(LAN6[1]),
                         "rpki_validators": [{"host": "127.0.0.1", "port": 3323}]},
        "members": members,
    })


ARS_VERSION = "1.27.0"
ARS_VENV = Path(os.environ.get("IXP_BENCH_CACHE", "/var/cache/ixp-bench")) / f"ars-{ARS_VERSION}"


def ars_bin() -> str | None:
    """The arouteserver program: ``ARS_BIN``, else version ARS_VERSION installed on first use
    into a venv of its own (None only when that install fails: the reason is printed)."""
    if os.environ.get("ARS_BIN"):
        return os.environ["ARS_BIN"]
    binary = ARS_VENV / "bin" / "arouteserver"
    if not binary.exists():
        print(f"installing arouteserver {ARS_VERSION} into {ARS_VENV} (benchmark only)",
              file=sys.stderr)
        done = subprocess.run(
            f"/usr/bin/python3 -m venv {ARS_VENV} && {ARS_VENV}/bin/pip install -q "
            f"--disable-pip-version-check arouteserver=={ARS_VERSION}", shell=True,
            capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(f"arouteserver could not be installed: {done.stderr[-500:]}", file=sys.stderr)
            return None
    return str(binary)


GENERAL = """cfg:
  rs_as: {rs}
  router_id: "{rid}"
  passive: True
  gtsm: False
  add_path: False
  filtering:
    next_hop:
      policy: "strict"
    never_via_route_servers:
      peering_db: False
    transit_free:
      action: "reject"
    irrdb:
      enforce_origin_in_as_set: False
      enforce_prefix_in_as_set: False
      tag_as_set: False
    rpki_bgp_origin_validation:
      enabled: True
      reject_invalid: True
    max_prefix:
      peering_db:
        enabled: False
      action: "restart"
  rpki_roas:
    source: "rtr"
"""


def ars_inputs(cfg: IXPConfig, workdir: Path) -> list[str]:
    """Write arouteserver's input files for ``cfg`` (same policy, offline); return its argv."""
    binary = ars_bin()
    assert binary is not None
    pkg = Path(binary).resolve().parent.parent / "lib"
    templates = next(pkg.glob("python3*/site-packages/pierky/arouteserver/templates"))
    config_d = templates.parent / "config.d"
    local = workdir / "local"
    local.mkdir(parents=True, exist_ok=True)
    (local / "rpki_rtr_config.local").write_text(
        'protocol rpki RPKI {\n  roa4 { table RPKI4; };\n  roa6 { table RPKI6; };\n'
        '  remote "127.0.0.1" port 3323;\n}\n')
    (workdir / "general.yml").write_text(GENERAL.format(rs=RS_ASN, rid=cfg.route_server.router_id))
    lines = ["clients:"]
    for m in cfg.members:
        ips = ", ".join(f'"{a}"' for a in (*m.ipv4, *m.ipv6))
        lines += [f"  - asn: {m.asn}", f"    ip: [{ips}]",
                  f"    cfg: {{filtering: {{max_prefix: {{limit_ipv4: {m.max_prefix.ipv4}, "
                  f"limit_ipv6: {m.max_prefix.ipv6}}}}}}}"]
    (workdir / "clients.yml").write_text("\n".join(lines) + "\n")
    (workdir / "arouteserver.yml").write_text(
        f'cfg_dir: "{workdir}"\nlogging_config_file: "{config_d / "log.ini"}"\n'
        f'templates_dir: "{templates}"\ncache_dir: "{workdir / "cache"}"\n'
        "check_new_release: False\n")
    (workdir / "cache").mkdir(exist_ok=True)
    shutil.copy(config_d / "bogons.yml", workdir / "bogons.yml")
    return [binary, "bird", "--cfg", str(workdir / "arouteserver.yml"),
            "--general", str(workdir / "general.yml"), "--clients", str(workdir / "clients.yml"),
            "--bogons", str(workdir / "bogons.yml"), "--target-version", "2.0.11",
            "--ignore-issues", "*", "--local-files-dir", str(local),
            "--logging-level", "ERROR", "-o", str(workdir / "ars.conf")]
