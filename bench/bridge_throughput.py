"""Throughput across the peering LAN bridge: the hygiene rules with the traffic matrix, without
it, and no rules at all (issue 13 and issue 18's goal: >= 0.95 of the no-rules figure).

Two member namespaces hang off one appliance namespace (the same bridge for every run). iperf3
runs from member 1 to member 2 with each variant in turn, for a few rounds; the medians are
compared to the no-rules one, measured in the same run. Then the matrix's kernel cost for 100
members: how many elements its sets would hold, and what one costs.
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
from appliance.platform.target import Target

# These calls only read or change the namespace: no state directory is involved.
NO_STATE = Path("/nonexistent")

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
        data = cfg.model_dump(mode="json", exclude_defaults=True)
        data["peering_lan"]["traffic_matrix"] = False
        no_matrix = config_from_data(data)
        files = {"rules + matrix": render_hygiene(cfg), "rules, no matrix":
                 render_hygiene(no_matrix)}
        paths = {}
        for label, text in files.items():
            paths[label] = Path(tmp) / f"{len(paths)}.nft"
            paths[label].write_text(text)
        reconcile(cfg, Target(NO_STATE, app))
        runs: dict[str, list[float]] = {label: [] for label in (*files, "no rules")}
        for _ in range(rounds):
            for label, path in paths.items():
                nft.load_file(app, path)
                runs[label].append(iperf(m1, m2, MEMBERS[1]["ipv4"][0], seconds))
                netns.run(app, ["nft", "delete", "table", FAMILY, TABLE])
            runs["no rules"].append(iperf(m1, m2, MEMBERS[1]["ipv4"][0], seconds))
        matrix_cost = _matrix_cost(app, paths["rules + matrix"])
        rules_in_port_chain = files["rules, no matrix"].count("counter name") // len(MEMBERS)
    base = statistics.median(runs["no rules"])
    print(f"iperf3 TCP, member 1 -> member 2 across the bridge, {rounds} x {seconds}s each "
          f"({rules_in_port_chain} rules per port)")
    for label, values in runs.items():
        med = statistics.median(values)
        verdict = "" if label == "no rules" else (
            f"  ratio {med / base:.3f} ({'meets' if med / base >= 0.95 else 'misses'} >= 0.95)")
        print(f"  {label:<18} median {med:7.2f} Gbit/s  runs "
              f"{', '.join(f'{x:.2f}' for x in values)}{verdict}")
    print(f"  matrix, 100 members: {100 * 99} member pairs per family; one pair's element "
          f"costs about {matrix_cost} bytes of kernel memory (measured: 2000 elements added)")


def _matrix_cost(app: str, ruleset: Path) -> int:
    """Bytes of kernel slab one matrix element costs: ``Slab`` in /proc/meminfo before and after
    2000 elements (of ``nft add element``, what the forward hook adds per new pair)."""
    nft.load_file(app, ruleset)

    def slab() -> int:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("Slab:"):
                return int(line.split()[1]) * 1024
        return 0
    elems = ", ".join(f"02:00:00:00:{i >> 8:02x}:{i & 255:02x} . 02:00:00:01:00:01"
                      for i in range(2000))
    before = slab()
    netns.run(app, ["nft", f"add element {FAMILY} {TABLE} pairs4 {{ {elems} }}"])
    after = slab()
    netns.run(app, ["nft", "delete", "table", FAMILY, TABLE])
    return max(0, (after - before) // 2000)


if __name__ == "__main__":
    sys.exit(main())
