"""Dashboard response time (p50/p95) and the collector's cost, at 5 and 500 member ports.

Builds an appliance namespace with one veth port per synthetic member, applies the config (so
the bridge and its hygiene rules exist), then times the dashboard, the status API and
/metrics with the Flask test client, and one collector round. The 5-member run is the
reference: the ratio shows how the cost grows with the exchange.
Run as root: .venv/bin/python bench/ops_dashboard.py [members]
"""

from __future__ import annotations

import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml
from pyroute2 import IPRoute

from appliance.box import build_pipeline
from appliance.config.generate import synthetic_data
from appliance.monitor.collector import Collector
from appliance.monitor.store import SampleStore, samples_path
from appliance.platform import netns
from appliance.platform.target import Target
from appliance.web import create_app
from appliance.web.accounts import hash_password

PASSWORD = "benchmark pass phrase"
ROUNDS = 30


def build(members: int) -> tuple[str, Path]:
    ns = f"{netns.unique_prefix('ixbench')}-ixp"
    netns.create(ns)
    with IPRoute(netns=ns) as ipr:
        for i in range(1, members + 1):
            ipr.link("add", ifname=f"p{i}", kind="veth", peer={"ifname": f"q{i}"})
            for name in (f"p{i}", f"q{i}"):
                ipr.link("set", index=ipr.link_lookup(ifname=name)[0], state="up")
    state = Path(tempfile.mkdtemp(prefix="ixp-bench-"))
    data = synthetic_data(members)
    data["admin_users"] = [{"name": "bench", "password_hash": hash_password(PASSWORD)}]
    out = build_pipeline(Target(state, ns)).run(yaml.safe_dump(data), author="bench")
    assert out.ok, out.error
    return ns, state


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(members: int) -> dict[str, float]:
    ns, state = build(members)
    try:
        store = SampleStore(samples_path(state))
        ports = {f"p{i}" for i in range(1, members + 1)}
        collector = Collector(store, Target(state, ns), lambda: ports)
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        for k in range(3):
            collector.sample_once(now=int(time.time()) - 180 + 60 * k)
        per_round = (time.perf_counter() - t0) / 3
        cpu_round = (time.process_time() - cpu0) / 3
        client = create_app(Target(state, ns)).test_client()
        login = client.get("/login").get_data(as_text=True)
        token = login.split('name="csrf_token" value="')[1].split('"')[0]
        client.post("/login", data={"name": "bench", "password": PASSWORD, "csrf_token": token})
        results: dict[str, float] = {"collector_round_s": per_round,
                                     "collector_cpu_s": cpu_round}
        for label, path in (("dashboard", "/"), ("status_api", "/api/v1/status"),
                            ("metrics", "/metrics")):
            times = []
            for _ in range(ROUNDS):
                t = time.perf_counter()
                resp = client.get(path)
                times.append(time.perf_counter() - t)
                assert resp.status_code == 200, (path, resp.status_code)
            results[f"{label}_p50"] = statistics.median(times)
            results[f"{label}_p95"] = percentile(times, 0.95)
        results["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return results
    finally:
        netns.remove(ns)


def main() -> None:
    netns.require_root()
    big = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    small_r = measure(5)
    big_r = measure(big)
    print(f"{'measure':<22}{'5 members':>12}{f'{big} members':>14}{'ratio':>8}")
    for key in small_r:
        if key == "rss_mb":
            continue
        a, b = small_r[key] * 1000, big_r[key] * 1000
        print(f"{key + ' (ms)':<22}{a:>12.1f}{b:>14.1f}{b / a if a else 0:>7.1f}x")
    per_minute = big_r["collector_cpu_s"] / 60 * 100
    print(f"collector at {big} ports: {big_r['collector_cpu_s'] * 1000:.0f} ms CPU per "
          f"1-minute round = {per_minute:.2f}% of one core; peak RSS of this process "
          f"{big_r['rss_mb']:.0f} MB")


if __name__ == "__main__":
    main()
