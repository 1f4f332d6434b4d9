"""How long the peering LAN takes to reconcile for 8, 64 and 256 member ports.

For each size, in a namespace of its own: the cold apply (hygiene ruleset load, then bridge,
ports, flags, FDB, neighbours, addresses) and the no-op re-apply of the same config, which
must write nothing (it only reads netlink state). Prints times, netlink writes, the ruleset
load alone, the ratio no-op / cold and the cold cost per port relative to 8 ports.
Needs root; everything lives in namespaces this script creates and removes.
Run: sudo .venv/bin/python bench/bridge_reconcile.py
"""

from __future__ import annotations

import ipaddress
import sys
import tempfile
import time
from pathlib import Path

from appliance.bridge import nft
from appliance.bridge.reconcile import reconcile
from appliance.bridge.render import render_hygiene
from appliance.config.loader import config_from_data
from appliance.config.model import IXPConfig
from appliance.platform import netns
from appliance.platform.target import Target

# These calls only read or change the namespace: no state directory is involved.
NO_STATE = Path("/nonexistent")

SIZES = (8, 64, 256)
LAN4 = ipaddress.IPv4Network("100.64.0.0/22")
LAN6 = ipaddress.IPv6Network("2001:db8:eeee::/64")


def make_config(n: int) -> IXPConfig:
    members = [{
        "asn": 4_200_000_000 + i, "name": f"Member {i}", "ports": [f"ixp{i}"],
        "macs": [f"02:00:5e:10:{i >> 8:02x}:{i & 0xFF:02x}"],
        "ipv4": [str(LAN4.network_address + 10 + i)],
        "ipv6": [str(LAN6.network_address + 0x10 + i)],
    } for i in range(1, n + 1)]
    return config_from_data({
        "lab": True,
        "identity": {"name": "Bench IX", "short_name": "BIX", "country": "FJ",
                     "contact_email": "noc@bix.example.net"},
        "peering_lan": {"ipv4_prefix": str(LAN4), "ipv6_prefix": str(LAN6)},
        "route_server": {"asn": 64511, "router_id": "100.64.0.1", "ipv4": "100.64.0.1",
                         "ipv6": str(LAN6.network_address + 1)},
        "members": members,
    })


def make_ports(ns: str, n: int) -> None:
    """n veth pairs inside ``ns`` (ixpN with peer mN), created in one ip -batch."""
    batch = "".join(f"link add ixp{i} type veth peer name m{i}\n" for i in range(1, n + 1))
    netns.run(ns, ["ip", "-batch", "-"], input_text=batch, timeout=300)


def measure(n: int, workdir: Path) -> tuple[float, int, float, float, int]:
    ns = f"{netns.unique_prefix('ixbridge')}-rec{n}"
    with netns.temporary([ns]):
        make_ports(ns, n)
        cfg = make_config(n)
        ruleset = workdir / f"hygiene-{n}.nft"
        ruleset.write_text(render_hygiene(cfg))
        t0 = time.perf_counter()
        nft.load_file(ns, ruleset)
        writes = reconcile(cfg, Target(NO_STATE, ns))
        cold = time.perf_counter() - t0
        t_nft = time.perf_counter()
        nft.load_file(ns, ruleset)  # the ruleset alone, for the breakdown
        nft_time = time.perf_counter() - t_nft
        t1 = time.perf_counter()
        again = reconcile(cfg, Target(NO_STATE, ns))
        noop = time.perf_counter() - t1
        if again:
            raise SystemExit(f"no-op re-apply of {n} ports wrote {len(again)} times")
        return cold, len(writes), noop, nft_time, len(again)


def main() -> None:
    netns.require_root()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in SIZES:
            rows.append((n, *measure(n, Path(tmp))))
    print(f"{'ports':>6} {'cold ms':>9} {'writes':>7} {'nft load ms':>12} "
          f"{'no-op ms':>9} {'no-op writes':>13} {'no-op/cold':>11} {'cold ms/port':>13}")
    for n, cold, writes, noop, nft_ms, noop_writes in rows:
        print(f"{n:>6} {cold * 1e3:>9.1f} {writes:>7} {nft_ms * 1e3:>12.1f} {noop * 1e3:>9.1f} "
              f"{noop_writes:>13} {noop / cold:>11.3f} {cold * 1e3 / n:>13.2f}")
    base = rows[0][1] / rows[0][0]
    print("cold cost per port relative to 8 ports: " + ", ".join(
        f"{n}: {(cold / n) / base:.2f}" for n, cold, *_ in rows))


if __name__ == "__main__":
    sys.exit(main())
