"""Our SNMP agent vs net-snmp's snmpd, both serving IF-MIB for the same 128 interfaces.

In one namespace this script creates: 126 member ports (veths, far ends in a second
namespace), the peering-LAN bridge and the management NIC. Our agent (configured from the
model through the real render) and snmpd (own config, IF-MIB + system only, own persistent
dir) listen on loopback ports inside it. Each walk runs once to warm caches, then REPEAT
times; the median wall time is reported with the ratio ours / snmpd (goal <= 2), our SNMPv3
times, and each daemon's resident memory.
Needs root and the Debian packages snmp and snmpd (snmpd is never started on the host).
Run: sudo .venv/bin/python bench/snmp_agent_vs_snmpd.py
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from appliance.config.loader import config_from_data
from appliance.platform import netns
from appliance.snmp.render import AGENT_FILE, render_agent_config

PORTS = 126  # + br-ixp + mgmt0 = 128 interfaces
REPEAT = 5
OURS, THEIRS = 16161, 16162
COMMUNITY = "bench-community"
LAN4 = ipaddress.IPv4Network("100.64.0.0/22")
WALKS = (("ifXTable", "1.3.6.1.2.1.31.1.1"), ("whole agent", "1.3.6.1"))
V3_USER = {"name": "bench", "auth_protocol": "SHA-256", "auth_password": "bench-auth-1",
           "priv_protocol": "AES-128", "priv_password": "bench-priv-1"}
V3_ARGS = ["-v3", "-l", "authPriv", "-u", "bench", "-a", "SHA-256", "-A", "bench-auth-1",
           "-x", "AES", "-X", "bench-priv-1"]


def make_config(n: int) -> bytes:
    members = [{"asn": 4_200_000_000 + i, "name": f"Member {i}", "ports": [f"ixp{i}"],
                "macs": [f"02:00:5e:10:{i >> 8:02x}:{i & 0xFF:02x}"],
                "ipv4": [str(LAN4.network_address + 10 + i)]} for i in range(1, n + 1)]
    cfg = config_from_data({
        "lab": True,
        "identity": {"name": "Bench IX", "short_name": "BIX", "country": "FJ",
                     "contact_email": "noc@bix.example.net"},
        "management": {"interface": "mgmt0", "hostname": "rs1.bix.example.net"},
        "peering_lan": {"ipv4_prefix": str(LAN4)},
        "route_server": {"asn": 64511, "router_id": "100.64.0.1", "ipv4": "100.64.0.1"},
        "members": members,
        "snmp": {"enabled": True, "port": OURS,
                 "communities": [{"community": COMMUNITY,
                                  "allowed_networks": ["127.0.0.0/8"]}],
                 "users": [V3_USER]},
    })
    return render_agent_config(cfg)


SNMPD_CONF = f"""agentaddress udp:127.0.0.1:{THEIRS}
view ifmib included .1.3.6.1.2.1.1
view ifmib included .1.3.6.1.2.1.2
view ifmib included .1.3.6.1.2.1.31
rocommunity {COMMUNITY} 127.0.0.1 -V ifmib
"""


def wait_answer(ns: str, port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        r = netns.run(ns, ["snmpget", "-v2c", "-c", COMMUNITY, "-t", "0.3", "-r", "0",
                           f"127.0.0.1:{port}", "1.3.6.1.2.1.1.5.0"], check=False)
        if r.returncode == 0:
            return
    raise SystemExit(f"nothing answers on port {port}")


def walk(ns: str, port: int, oid: str, v3: bool = False) -> tuple[float, int]:
    cred = V3_ARGS if v3 else ["-v2c", "-c", COMMUNITY]
    t0 = time.perf_counter()
    r = netns.run(ns, ["snmpbulkwalk", *cred, "-On", "-t", "5", f"127.0.0.1:{port}", oid],
                  timeout=120)
    return time.perf_counter() - t0, len(r.stdout.splitlines())


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def stop(proc: subprocess.Popen | None) -> None:
    if proc is not None and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def main() -> None:
    netns.require_root()
    for tool, pkg in (("snmpbulkwalk", "snmp"), ("snmpd", "snmpd")):
        if not (shutil.which(tool) or shutil.which(tool, path="/usr/sbin")):
            raise SystemExit(f"{tool} is missing: apt-get install {pkg}")
    prefix = netns.unique_prefix("ixbench")
    ns, far = f"{prefix}-snmp", f"{prefix}-far"
    ours = theirs = None
    with tempfile.TemporaryDirectory() as tmp, netns.temporary([ns, far]):
        work = Path(tmp)
        names = [f"ixp{i}" for i in range(1, PORTS + 1)]
        # veth pairs whose far ends live in a second namespace: this one holds exactly 128.
        batch = "".join(f"link add {n} type veth peer name f{n} netns {far}\n"
                        for n in [*names, "mgmt0"])
        batch += "link add br-ixp type bridge\n"
        batch += "".join(f"link set {n} up\n" for n in [*names, "mgmt0", "br-ixp"])
        netns.run(ns, ["ip", "-batch", "-"], input_text=batch, timeout=300)
        (work / "etc" / "snmp").mkdir(parents=True)
        (work / "etc" / AGENT_FILE).write_bytes(make_config(PORTS))
        (work / "snmpd.conf").write_text(SNMPD_CONF)
        (work / "snmpd-state").mkdir()
        try:
            ours = subprocess.Popen(netns.command(ns, [
                sys.executable, "-m", "appliance.snmp", "--config",
                str(work / "etc" / AGENT_FILE), "--state-dir", str(work),
                "--listen", f"127.0.0.1:{OURS}"]), stderr=subprocess.DEVNULL)
            theirs = subprocess.Popen(
                netns.command(ns, ["snmpd", "-f", "-C", "-c", str(work / "snmpd.conf"),
                                   "-Lf", str(work / "snmpd.log"), "-p",
                                   str(work / "snmpd.pid")]),
                env={**os.environ, "SNMP_PERSISTENT_DIR": str(work / "snmpd-state")})
            deadline = time.monotonic() + 30
            wait_answer(ns, OURS, deadline)
            wait_answer(ns, THEIRS, deadline)
            print(f"{PORTS + 2} interfaces; snmpbulkwalk -v2c (max-repetitions 10), "
                  f"median of {REPEAT} after one warm-up walk")
            print(f"{'walk':<14}{'ours s':>9}{'snmpd s':>9}{'ratio':>8}{'ours vb':>9}"
                  f"{'snmpd vb':>10}")
            for label, oid in WALKS:
                res = {}
                for name, port in (("ours", OURS), ("snmpd", THEIRS)):
                    walk(ns, port, oid)
                    runs = [walk(ns, port, oid) for _ in range(REPEAT)]
                    res[name] = (statistics.median(t for t, _ in runs), runs[-1][1])
                ratio = res["ours"][0] / res["snmpd"][0]
                print(f"{label:<14}{res['ours'][0]:>9.3f}{res['snmpd'][0]:>9.3f}"
                      f"{ratio:>8.2f}{res['ours'][1]:>9}{res['snmpd'][1]:>10}")
            for label, oid in WALKS:
                walk(ns, OURS, oid, v3=True)
                runs = [walk(ns, OURS, oid, v3=True) for _ in range(REPEAT)]
                print(f"{label + ' v3':<14}{statistics.median(t for t, _ in runs):>9.3f}"
                      f"{'(SNMPv3 authPriv, ours only: no v3 user in snmpd)':>60}")
            print(f"RSS: ours {rss_kib(ours.pid) / 1024:.1f} MiB, "
                  f"snmpd {rss_kib(theirs.pid) / 1024:.1f} MiB")
            print("goal: ratio <= 2 for both walks")
        finally:
            stop(ours)
            stop(theirs)


if __name__ == "__main__":
    main()
