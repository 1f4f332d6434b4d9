"""Looking-glass response time (p50/p95) on a route server with N members x P prefixes, next to
the same query answered by BIRD itself over its control socket, in the same run.

The route server is the appliance's own BIRD config (render_bird) in a namespace. Each member
is a BIRD of its own (BIRD holds one session per neighbor address, so one BIRD cannot speak
for several members), up to FEED_PER_NS of them sharing a namespace. Every member sends P /24s;
the route server sends every member everyone else's routes, as in production.

Each looking-glass query is timed through the web app (Flask test client, logged in) and its
reference is the raw BIRD command the query needs, sent on the control socket and read to
BIRD's final reply line with no parsing: the ratio is the looking glass's own overhead.
Also timed: one round of the collector's per-session prefix counts.
Run as root: .venv/bin/python bench/ops_lg.py [members [prefixes]]   (default 500 100)
Everything runs in namespaces this script creates and removes.
"""

from __future__ import annotations

import ipaddress
import re
import signal
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from ops_dashboard import percentile  # noqa: E402
from routeserver_common import LAN4, LAN6, RS_ASN, ixp  # noqa: E402

from appliance.box import build_pipeline  # noqa: E402
from appliance.config.loader import config_from_data, dump_config  # noqa: E402
from appliance.config.model import IXPConfig  # noqa: E402
from appliance.monitor.collector import Collector  # noqa: E402
from appliance.monitor.looking_glass import search_root  # noqa: E402
from appliance.monitor.store import SampleStore, samples_path  # noqa: E402
from appliance.platform import netns  # noqa: E402
from appliance.platform.bird.control import BirdUnavailable  # noqa: E402
from appliance.platform.bird.replies import BirdError  # noqa: E402
from appliance.platform.target import Target  # noqa: E402
from appliance.route_server.bogons import load_bogons  # noqa: E402
from appliance.route_server.daemon import spawn_bird  # noqa: E402
from appliance.route_server.render import render_bird, session_name  # noqa: E402
from appliance.web import create_app  # noqa: E402
from appliance.web.accounts import hash_password  # noqa: E402
from labkit.netlab import NetLab, open_lab  # noqa: E402

FEED_PER_NS = 50
ROUNDS = 20
PASSWORD = "benchmark pass phrase"
FIRST_NET = ipaddress.IPv4Network("31.0.0.0/8")  # public space: no bogon filter in the way
_FINAL = re.compile(rb"^\d{4} ", re.MULTILINE)


def member_addr(i: int) -> str:
    """Member ``i``'s (1-based) LAN address, as routeserver_common.ixp gives it."""
    return str(LAN4[i + 9])


def member_prefixes(i: int, p: int) -> list[str]:
    """Member ``i``'s ``p`` /24s, all distinct across members."""
    base = int(FIRST_NET.network_address) + (i - 1) * p * 256
    return [f"{ipaddress.IPv4Address(base + k * 256)}/24" for k in range(p)]


def feeder_conf(i: int, p: int) -> str:
    """Member ``i``'s router: its ``p`` routes out over eBGP (which prepends its AS, so the
    path starts with the neighbor AS as the route server wants), nothing kept of what comes
    back (the route server still sends it all). ``strict bind`` keeps the BIRDs sharing a
    namespace from fighting over port 179."""
    lines = [f"router id {member_addr(i)};", "protocol device {}",
             "protocol static ann4 { ipv4;"]
    lines += [f"  route {net} blackhole;" for net in member_prefixes(i, p)]
    lines += ["}",
              f"protocol bgp to_rs {{ local {member_addr(i)} as {10000 + i}; "
              f"neighbor {LAN4[1]} as {RS_ASN}; local role rs_client; strict bind on;",
              "  connect retry time 2;",
              "  ipv4 { import none; export all; }; }"]
    return "\n".join(lines) + "\n"


def bench_config(n: int, p: int) -> IXPConfig:
    """routeserver_common's IXP with IPv4 sessions only (the feeders speak IPv4)."""
    data = yaml.safe_load(dump_config(ixp(n, max_prefix=2 * p)))
    for m in data["members"]:
        m.pop("ipv6", None)
        m.get("max_prefix", {}).pop("ipv6", None)
    return config_from_data(data)


def build(lab: NetLab, n: int, p: int) -> float:
    """Route server plus one BIRD per member in ``lab`` (up to FEED_PER_NS members share a
    namespace, each with its own address); returns the seconds to full convergence."""
    rs = lab.make_rs(str(LAN4[1]), str(LAN6[1]), LAN4.prefixlen, LAN6.prefixlen)
    ids = list(range(1, n + 1))
    for f, start in enumerate(range(0, n, FEED_PER_NS)):
        group = ids[start:start + FEED_PER_NS]
        node = lab.add_member(f"f{f}", [member_addr(i) for i in group], [], LAN4.prefixlen,
                              LAN6.prefixlen)
        for i in group:
            conf = node.dir / f"m{i}.conf"
            conf.write_text(feeder_conf(i, p))
            lab.pids.append(spawn_bird(conf, node.dir / f"m{i}.ctl", node.dir / f"m{i}.pid",
                                       target=Target(node.dir, node.ns),
                                       log=node.dir / f"m{i}.log"))
    t0 = time.perf_counter()
    lab.start_bird(rs, render_bird(bench_config(n, p), load_bogons()))
    want_in, want_out = n * p, n * (n - 1) * p
    deadline = t0 + 3600
    last = ""
    while True:
        try:
            with rs.control() as bc:
                sessions = [x for x in bc.protocols() if x.proto == "BGP"]
            got_in = sum(x.routes("imported") for x in sessions)
            got_out = sum(x.routes("exported") for x in sessions)
            up = sum(1 for x in sessions if x.established)
            status = f"{up}/{n} up, {got_in}/{want_in} in, {got_out}/{want_out} out"
            if status != last:
                print(f"  {time.perf_counter() - t0:6.0f} s: {status}", flush=True)
                last = status
            if up == n and got_in == want_in and got_out == want_out:
                return time.perf_counter() - t0
        except (BirdUnavailable, BirdError):
            pass  # BIRD too busy to answer in time: ask again
        if time.perf_counter() > deadline:
            raise TimeoutError(f"no convergence in an hour: {last}")
        time.sleep(5)


def _read_reply(sock: socket.socket) -> int:
    # A reply ends with a line "NNNN text": four digits and a space (a dash continues it).
    data = b""
    while True:
        chunk = sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("BIRD closed the control socket")
        data += chunk
        if data.endswith(b"\n") and _FINAL.match(data[:-1].rsplit(b"\n", 1)[-1] + b"\n"):
            return len(data)


def raw_birdc(ctl: Path, commands: list[str]) -> int:
    """Send ``commands`` one after the other on one control connection, reading each reply
    to its final line without parsing it; returns the bytes received."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(120)
        sock.connect(str(ctl))
        _read_reply(sock)  # the greeting, "0001 BIRD ... ready."
        total = 0
        for command in commands:
            sock.sendall(command.encode() + b"\n")
            total += _read_reply(sock)
        return total


def timed(fn: Callable[[], object], rounds: int = ROUNDS) -> tuple[float, float]:
    """p50 and p95 seconds of ``fn`` over ``rounds`` calls (after one warm-up call)."""
    fn()
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), percentile(times, 0.95)


def main(argv: list[str]) -> None:
    """Build, converge, time every query against its raw-BIRD reference, print the table."""
    netns.require_root()
    # a plain kill must still stop the BIRDs and remove the namespaces (the finally below)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    n = int(argv[0]) if argv else 500
    p = int(argv[1]) if len(argv) > 1 else 100
    with tempfile.TemporaryDirectory(prefix="ixp-bench-lg-") as tmp:
        root = Path(tmp)
        lab = open_lab(root / "lab", "ixbench")
        try:
            print(f"building {n} members x {p} prefixes ...", flush=True)
            converge_s = build(lab, n, p)
            assert lab.rs is not None and lab.rs.pid is not None
            rss = int(next(line.split()[1] for line in Path(
                f"/proc/{lab.rs.pid}/status").read_text().splitlines()
                if line.startswith("VmRSS:")))
            print(f"converged in {converge_s:.0f} s; route server RSS {rss / 1024:.0f} MB",
                  flush=True)

            # the appliance's view of that route server: committed config, socket in place
            state = root / "state"
            (state / "run").mkdir(parents=True)
            (state / "run" / "bird.ctl").symlink_to(lab.rs.ctl)
            data = yaml.safe_load(dump_config(bench_config(n, p)))
            data["admin_users"] = [{"name": "bench", "password_hash": hash_password(PASSWORD)}]
            out = build_pipeline(state).run(yaml.safe_dump(data), author="bench")
            assert out.ok, out.error
            client = create_app(state).test_client()
            login = client.get("/login").get_data(as_text=True)
            token = login.split('name="csrf_token" value="')[1].split('"')[0]
            client.post("/login", data={"name": "bench", "password": PASSWORD,
                                        "csrf_token": token})

            mid = n // 2
            name = session_name(10000 + mid, member_addr(mid))
            table = f"t_{name}"
            prefix = member_prefixes(mid, p)[p // 2]
            ctl = lab.rs.ctl

            def get(path: str) -> Callable[[], object]:
                def call() -> object:
                    resp = client.get(path)
                    assert resp.status_code == 200, (path, resp.status_code)
                    return resp
                return call

            def raw(*commands: str) -> Callable[[], object]:
                return lambda: raw_birdc(ctl, list(commands))

            session_cmds = [f"show route table {table} protocol {name} all",
                             f"show route table {table} protocol {name} filtered all"]
            # what LookingGlass.lookup sends: the main table's answer, then one walk of the
            # filtered routes under the prefix's root at the policy's minimum length
            net = ipaddress.ip_network(prefix)
            min4 = bench_config(n, p).route_server.policy.ipv4_min_length
            lookup_cmds = [f"show route for {prefix} table master4 all",
                           f"show route in {search_root(net, min4)} table all filtered all"]
            cases = [
                ("/lg (all sessions)", get("/lg"), "show protocols all",
                 raw("show protocols all")),
                (f"/lg/session ({p} routes)", get(f"/lg/session/{name}"),
                 "show protocols + 2 route queries", raw("show protocols all", *session_cmds)),
                ("/lg/search (one prefix)", get(f"/lg/search?q={prefix}"),
                 f"the same {len(lookup_cmds)} queries", raw(*lookup_cmds)),
                ("/lg/search (one prefix)", get(f"/lg/search?q={prefix}"),
                 "'show route for' alone", raw(lookup_cmds[0])),
                ("/birdwatcher/protocols/bgp", get("/birdwatcher/protocols/bgp"),
                 "show protocols all", raw("show protocols all")),
                (f"/birdwatcher/routes/protocol ({p})",
                 get(f"/birdwatcher/routes/protocol/{name}"), "show protocols + 1 route query",
                 raw("show protocols all", session_cmds[0])),
                ("/birdwatcher/routes/prefix", get(f"/birdwatcher/routes/prefix?prefix={prefix}"),
                 f"the same {len(lookup_cmds)} queries", raw(*lookup_cmds)),
            ]
            rows = []
            for label, lg_call, ref_label, raw_call in cases:
                lg50, lg95 = timed(lg_call)
                raw50, raw95 = timed(raw_call)
                rows.append((label, ref_label, lg50, lg95, raw50, raw95))
                print(f"  {label}: {lg50 * 1000:.1f} / {lg95 * 1000:.1f} ms; {ref_label}: "
                      f"{raw50 * 1000:.1f} / {raw95 * 1000:.1f} ms", flush=True)

            store = SampleStore(samples_path(state))
            collector = Collector(store, Target(state), set, state_dir=state)
            cpu0, t0 = time.process_time(), time.perf_counter()
            now = int(time.time())
            for k in range(3):
                store.add_prefix_counts(now - 180 + 60 * k, collector.sample_sessions())
            col_wall = (time.perf_counter() - t0) / 3
            col_cpu = (time.process_time() - cpu0) / 3
            sessions = len(store.sessions())

            print(f"\n{n} members x {p} prefixes (IPv4), route server converged in "
                  f"{converge_s:.0f} s, RSS {rss / 1024:.0f} MB")
            print(f"{'query':<36}{'LG p50':>10}{'LG p95':>10}  {'raw BIRD reference':<32}"
                  f"{'p50':>10}{'p95':>10}{'ratio p50':>10}")
            for label, ref_label, lg50, lg95, raw50, raw95 in rows:
                print(f"{label:<36}{lg50 * 1000:>8.1f}ms{lg95 * 1000:>8.1f}ms  {ref_label:<32}"
                      f"{raw50 * 1000:>8.1f}ms{raw95 * 1000:>8.1f}ms{lg50 / raw50:>9.1f}x")
            print(f"collector prefix counts, {sessions} sessions: {col_wall * 1000:.0f} ms per "
                  f"round, {col_cpu * 1000:.0f} ms CPU = {col_cpu / 60 * 100:.2f}% of one core "
                  "at one round a minute")
        finally:
            lab.close()


if __name__ == "__main__":
    main(sys.argv[1:])
