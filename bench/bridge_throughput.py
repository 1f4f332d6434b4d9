"""Throughput across the peering LAN bridge with all hygiene rules loaded vs none.

Two member namespaces hang off one appliance namespace (the same bridge for both runs). iperf3
runs from member 1 to member 2 with the hygiene ruleset loaded, then with the table deleted,
alternating for a few rounds; the median of each is compared. Goal: ratio >= 0.95.
Needs root and iperf3; everything lives in namespaces this script creates and removes, and
only the iperf3 server it started is stopped (by its PID).
Run: sudo .venv/bin/python bench/bridge_throughput.py [seconds-per-run] [rounds]
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from appliance.bridge import nft
from appliance.bridge.reconcile import reconcile
from appliance.bridge.render import FAMILY, TABLE, render_hygiene
from appliance.config.loader import config_from_data
from appliance.config.model import IXPConfig
from appliance.platform import netns

MEMBERS = (
    {"asn": 4_200_000_001, "name": "Member 1", "ports": ["ixp1"], "macs": ["02:00:5e:10:00:01"],
     "ipv4": ["203.0.113.11"], "ipv6": ["2001:db8:eeee::11"]},
    {"asn": 4_200_000_002, "name": "Member 2", "ports": ["ixp2"], "macs": ["02:00:5e:10:00:02"],
     "ipv4": ["203.0.113.12"], "ipv6": ["2001:db8:eeee::12"]},
)


def make_config() -> IXPConfig:
    return config_from_data({
        "lab": True,
        "identity": {"name": "Bench IX", "short_name": "BIX", "country": "FJ",
                     "contact_email": "noc@bix.example.net"},
        "peering_lan": {"ipv4_prefix": "203.0.113.0/24", "ipv6_prefix": "2001:db8:eeee::/64"},
        "route_server": {"asn": 64511, "router_id": "203.0.113.1", "ipv4": "203.0.113.1",
                         "ipv6": "2001:db8:eeee::1"},
        "members": list(MEMBERS),
    })


def build(app: str, members: list[str]) -> None:
    for ns, m in zip(members, MEMBERS, strict=True):
        port = m["ports"][0]
        netns.run(app, ["ip", "link", "add", port, "type", "veth", "peer", "name", "eth0",
                        "netns", ns])
        netns.run(ns, ["ip", "link", "set", "eth0", "address", m["macs"][0]])
        netns.run(ns, ["ip", "addr", "add", f"{m['ipv4'][0]}/24", "dev", "eth0"])
        netns.run(ns, ["ip", "link", "set", "eth0", "up"])


def iperf(client_ns: str, server_ns: str, server_ip: str, seconds: int) -> float:
    """Gbit/s received by the server in one TCP run."""
    server = subprocess.Popen(netns.command(server_ns, ["iperf3", "-s", "-1", "-J"]),
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        deadline = time.monotonic() + 10
        while True:  # wait until the server listens (connect refused until then)
            out = netns.run(client_ns, ["iperf3", "-c", server_ip, "-t", str(seconds), "-J"],
                            check=False, timeout=seconds + 30)
            if (out.returncode == 0 and '"error"' not in out.stdout) \
                    or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        if out.returncode != 0:
            raise RuntimeError(f"iperf3 failed: {out.stdout[-500:]}{out.stderr[-500:]}")
        result = json.loads(out.stdout)
        if "error" in result or "sum_received" not in result.get("end", {}):
            raise RuntimeError(f"iperf3 failed: {result.get('error', out.stdout[-500:])}")
        return result["end"]["sum_received"]["bits_per_second"] / 1e9
    finally:
        if server.poll() is None:
            server.kill()  # only the server this function started
        server.wait(timeout=10)


def main() -> None:
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    netns.require_root()
    prefix = netns.unique_prefix("ixbridge")
    names = [f"{prefix}-ixp", f"{prefix}-m1", f"{prefix}-m2"]
    with netns.temporary(names), tempfile.TemporaryDirectory() as tmp:
        app, m1, m2 = names
        build(app, [m1, m2])
        cfg = make_config()
        ruleset = Path(tmp) / "hygiene.nft"
        ruleset.write_text(render_hygiene(cfg))
        reconcile(cfg, app)
        with_rules: list[float] = []
        without: list[float] = []
        for _ in range(rounds):
            nft.load_file(app, ruleset)
            with_rules.append(iperf(m1, m2, MEMBERS[1]["ipv4"][0], seconds))
            netns.run(app, ["nft", "delete", "table", FAMILY, TABLE])
            without.append(iperf(m1, m2, MEMBERS[1]["ipv4"][0], seconds))
        rules_in_port_chain = render_hygiene(cfg).count("counter name") // len(MEMBERS)
    w, wo = statistics.median(with_rules), statistics.median(without)
    print(f"iperf3 TCP, member 1 -> member 2 across the bridge, {rounds} x {seconds}s each")
    print(f"  with hygiene rules ({rules_in_port_chain} per port):  median {w:7.2f} Gbit/s  "
          f"runs {', '.join(f'{x:.2f}' for x in with_rules)}")
    print(f"  without any rules:          median {wo:7.2f} Gbit/s  "
          f"runs {', '.join(f'{x:.2f}' for x in without)}")
    verdict = "meets" if w / wo >= 0.95 else "misses"
    print(f"  ratio with/without: {w / wo:.3f} ({verdict} the goal of >= 0.95)")


if __name__ == "__main__":
    sys.exit(main())
