"""Resident memory of the appliance's own processes with 1000 members, as systemd runs them.

Builds an appliance namespace with one veth port per synthetic member (far ends in a second
namespace) and a management NIC, applies a config with the SNMP agent, the resolver and an
anycast prefix on, then starts each unit's command as a child: ``ixpctl run bird`` and
``ixpctl run unbound`` (the wrappers, through a hook that records their peak just before
they exec the daemon), and the resident ``ixpctl run snmp|collector|web|anycast``, with the
Environment= lines of their units (except IXP_HTTPS: the bench talks plain HTTP). As on the
image, the web UI does not apply itself: ``ixpctl run apply`` (the root helper that
ixp-apply.socket starts) does, and the web reaches it through ``IXP_APPLY_SOCKET`` (it runs
as root here, not as ixp-web, but takes the image's path: every change and every nft read
goes through the helper). The services settle through one change applied through the JSON
API (the SNMP location: the web reads and validates the 1000-member configuration, the
helper applies it), a few rounds of web requests (login page, login, dashboard, status API,
members, /metrics) and SNMP walks; then each one's RSS, PSS and USS (/proc/PID/smaps_rollup)
and peak RSS (VmHWM) are printed, the totals as a ratio to the goal of issue 14 (all of them
together <= 150 MB), each service as a ratio to a bare interpreter measured in the same run.
The collector samples every 5 s here (60 s on the box) so that it makes several rounds. The
apply helper is shown apart, not in the total: on the box it exits after an idle minute.

nft's timeouts are raised in the bench's own setup, its helper and its web only, a guard kept
from when, with 1000 members, ``nft -c`` of the hygiene table (then some 12 000 anonymous sets)
took about a minute of kernel time on a loaded two-core development host, past the pipeline's
limit of 60 s; with named sets it takes about 1 s (``bench/hygiene_scale.py``).

Run as root: .venv/bin/python bench/service_memory.py [members] [--without-unit-env]
[--in-process-apply] (the web applying itself, as it did before the helper)
(the image's daemons, made once by image/shipped-root.sh: bench/shipped_tree.py)
Run it from the checkout whose code it measures: the agent (``python -m``) and the processes
started with ``python -c`` import ``appliance`` from the working directory first.
Everything it starts it stops by PID; its namespaces are removed at the end.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import shipped_tree
import yaml

from appliance.anycast.status import STATUS_FILE
from appliance.box import build_pipeline
from appliance.config.generate import synthetic_data
from appliance.platform import netns
from appliance.platform.target import Target
from appliance.resolver.concern import stop_resolver
from appliance.route_server.daemon import stop as stop_route_server
from appliance.web.accounts import hash_password
from appliance.web.api import tokens

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(sys.executable).parent
IXPCTL = VENV / "ixpctl"
RESIDENT = ("web", "collector", "anycast", "snmp")
EXECS = ("unbound", "bird", "snmp")
GOAL_MB = 150.0
MIB = 1024 * 1024
PASSWORD = "benchmark pass phrase"
SNMP_PORT = 16161
COMMUNITY = "bench-community"
SERVICE4 = "192.0.2.53"
ROUNDS = 4
HEAVY = ("flask", "jinja2", "werkzeug", "pysnmp", "pyroute2", "psutil", "pydantic", "yaml",
         "argon2", "cryptography")

# Runs ``ixpctl`` exactly as its console script does, but reports the process's memory at
# the moment it execs the daemon (VmHWM is lost with the exec, so it cannot be read later).
HOOK = r"""
import os, sys
_report, _heavy = sys.argv.pop(1), sys.argv.pop(1).split(",")
def _record():
    status = dict(l.split(":", 1) for l in open("/proc/self/status") if ":" in l)
    heavy = [m for m in _heavy if m in sys.modules]
    with open(_report + ".tmp", "w") as f:
        f.write(" ".join([status["VmHWM"].split()[0], status["VmRSS"].split()[0],
                          str(len(sys.modules)), ",".join(heavy) or "-"]))
    os.rename(_report + ".tmp", _report)
def _hooked(real):
    def call(file, args):
        _record()
        real(file, args)
    return call
os.execv, os.execvp = _hooked(os.execv), _hooked(os.execvp)
from appliance.cli import main
from appliance.platform.target import Target
sys.argv[0] = "ixpctl"
sys.exit(main())
"""


# Raises the timeouts of nft's runs in this process: the setup's apply and the helper's (see
# the module's docstring); nothing else changes.
PATIENT_NFT = r"""
import subprocess as _subprocess
import types as _types
from appliance.platform import nft as _nft
def _patient_run(*args, **kwargs):
    if kwargs.get("timeout"):
        kwargs["timeout"] = max(kwargs["timeout"], 900)
    return _subprocess.run(*args, **kwargs)
_nft.subprocess = _types.SimpleNamespace(**{**vars(_subprocess), "run": _patient_run})
"""

# ``ixpctl`` with patient nft runs: the apply helper, and the web (which applies itself with
# --in-process-apply).
PATIENT_IXPCTL = PATIENT_NFT + r"""
import sys
from appliance.cli import main
sys.argv[0] = "ixpctl"
sys.exit(main())
"""


def config_data(members: int) -> dict[str, object]:
    data = synthetic_data(members)
    data["management"] = {"interface": "mgmt0", "hostname": "rs1.synthetic.example.net"}
    data["admin_users"] = [{"name": "bench", "password_hash": hash_password(PASSWORD)}]
    data["services"] = {
        "resolver": {"enabled": True, "ipv4": ["10.16.0.5", SERVICE4], "local_root": False},
        "anycast": [{"prefix": "192.0.2.0/24"}],
    }
    data["snmp"] = {"enabled": True, "port": SNMP_PORT, "communities": [
        {"community": COMMUNITY, "allowed_networks": ["127.0.0.0/8"]}]}
    return data


def build_lab(ns: str, far: str, members: int) -> None:
    names = [f"p{i}" for i in range(1, members + 1)] + ["mgmt0"]
    batch = "".join(f"link add {n} type veth peer name f{n} netns {far}\n" for n in names)
    batch += "".join(f"link set {n} up\n" for n in names)
    netns.run(ns, ["ip", "-batch", "-"], input_text=batch, timeout=600)
    netns.run(far, ["ip", "-batch", "-"], timeout=600,
              input_text="".join(f"link set f{n} up\n" for n in names))


def unit_env(service: str, use_unit_env: bool) -> dict[str, str]:
    env = dict(os.environ)
    unit = ROOT / "systemd" / f"ixp-{service}.service"
    if use_unit_env and unit.exists():
        for m in re.finditer(r"^Environment=(\w+)=(\S*)$", unit.read_text(), re.M):
            if m.group(1) != "IXP_HTTPS":
                env[m.group(1)] = m.group(2)
    return env


def smaps(pid: int) -> dict[str, float]:
    """RSS, PSS, USS (private clean + dirty) and peak RSS of ``pid``, in MiB."""
    rollup: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        key, value = line.split(":", 1)
        rollup[key] = int(value.split()[0])
    hwm = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            hwm = int(line.split()[1])
    return {"rss": rollup["Rss"] / 1024, "pss": rollup["Pss"] / 1024,
            "uss": (rollup["Private_Clean"] + rollup["Private_Dirty"]) / 1024,
            "hwm": hwm / 1024}


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (a service may fork helpers)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*"):
            with open(task / "children") as f:
                todo.extend(int(c) for c in f.read().split())
    return out


def tree_memory(pid: int) -> dict[str, float]:
    total = {"rss": 0.0, "pss": 0.0, "uss": 0.0, "hwm": 0.0, "procs": 0}
    for p in descendants(pid):
        try:
            for k, v in smaps(p).items():
                total[k] += v
            total["procs"] += 1
        except (FileNotFoundError, ProcessLookupError):
            pass  # a helper that ended meanwhile
    return total


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


def free_port(kind: socket.SocketKind) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(probe, what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if probe():
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"{what} did not come up within {timeout:.0f} s")


def wrapper(service: str, state: Path, ns: str, work: Path, env: dict[str, str],
            extra: list[str], procs: dict[str, subprocess.Popen]) -> list[str]:
    """Start ``ixpctl run SERVICE`` through the hook (into ``procs``); the hook's report."""
    report = work / f"{service}.exec"
    argv = [sys.executable, "-c", HOOK, str(report), ",".join(HEAVY),
            "run", service, "--state-dir", str(state), "--netns", ns, *extra]
    proc = procs[service] = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL,
                                             stderr=(work / f"{service}.log").open("wb"))
    wait_for(lambda: report.exists() or proc.poll() is not None,
             f"ixpctl run {service} exec", 60)
    if not report.exists():
        raise SystemExit(f"ixpctl run {service} ended before exec: "
                         f"{(work / f'{service}.log').read_text().strip()}")
    return report.read_text().split()


class Web:
    """A logged-in browser of the web UI, over plain HTTP on loopback."""

    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"
        jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=60) as resp:
            return resp.read().decode(errors="replace")

    def login(self) -> None:
        page = self.get("/login")
        token = page.split('name="csrf_token" value="')[1].split('"')[0]
        body = urllib.parse.urlencode({"name": "bench", "password": PASSWORD,
                                       "csrf_token": token}).encode()
        with self.opener.open(self.base + "/login", data=body, timeout=60) as resp:
            resp.read()

    def change(self, token: str, location: str) -> None:
        """Apply a new SNMP location through the JSON API (read, change, PUT ?base=N)."""
        auth = {"Authorization": f"Bearer {token}"}
        with self.opener.open(urllib.request.Request(self.base + "/api/v1/revisions",
                                                     headers=auth), timeout=60) as resp:
            listed = json.loads(resp.read())
        revs = listed.get("revisions", listed) if isinstance(listed, dict) else listed
        base = max(int(r["id"]) for r in revs)
        with self.opener.open(urllib.request.Request(self.base + "/api/v1/config",
                                                     headers=auth), timeout=60) as resp:
            data = json.loads(resp.read())
        data["snmp"]["location"] = location
        req = urllib.request.Request(f"{self.base}/api/v1/config?base={base}", method="PUT",
                                     data=json.dumps(data).encode(),
                                     headers={**auth, "Content-Type": "application/json"})
        try:
            with self.opener.open(req, timeout=1800) as resp:
                outcome = json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            raise SystemExit(f"the change was refused ({exc.code}): "
                             f"{exc.read().decode(errors='replace')[:2000]}") from None
        if not outcome.get("ok"):
            raise SystemExit(f"the change was not applied: {outcome}")

    def round(self) -> None:
        self.get("/login")
        for path in ("/", "/members", "/metrics", "/api/v1/status"):
            self.get(path)


def bare_python() -> dict[str, float]:
    proc = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                            stdin=subprocess.PIPE)
    try:
        time.sleep(0.5)
        return smaps(proc.pid)
    finally:
        proc.communicate(b"")


def main() -> None:
    netns.require_root()
    shipped_tree.use()  # the image's BIRD: the rendered config needs 2.17 (ASPA)
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    members = int(args[0]) if args else 1000
    use_unit_env = "--without-unit-env" not in sys.argv
    via_helper = "--in-process-apply" not in sys.argv
    exec(PATIENT_NFT, {})  # our own constant: the setup's nft runs
    prefix = netns.unique_prefix("ixbench")
    ns, far = f"{prefix}-ixp", f"{prefix}-far"
    procs: dict[str, subprocess.Popen] = {}
    with tempfile.TemporaryDirectory(prefix="ixp-bench-mem-") as tmp, \
            netns.temporary([ns, far]):
        work = Path(tmp)
        state = work / "state"
        try:
            t0 = time.monotonic()
            build_lab(ns, far, members)
            out = build_pipeline(Target(state, ns)).run(yaml.safe_dump(config_data(members)),
                                                author="bench")
            assert out.ok, out.error
            # The pipeline started BIRD and unbound itself; on the box their units do: hand
            # them over (else the pipeline's BIRD outlived the bench).
            stop_resolver(state)
            stop_route_server(Target(state, ns))
            token = tokens.create(state, "bench", "bench")
            setup_s = time.monotonic() - t0
            helper_env: dict[str, str] = {}
            if via_helper:
                sock = Target(state, ns).apply_socket
                procs["apply"] = subprocess.Popen(
                    [sys.executable, "-c", PATIENT_IXPCTL, "run", "apply", "--state-dir",
                     str(state), "--netns", ns], env=unit_env("apply", use_unit_env),
                    stdout=subprocess.DEVNULL, stderr=(work / "apply.log").open("wb"))
                wait_for(sock.exists, "the apply helper", 60)
                helper_env = {"IXP_APPLY_SOCKET": str(sock)}

            port, snmp_port = free_port(socket.SOCK_STREAM), free_port(socket.SOCK_DGRAM)
            extra = {"web": ["--listen", f"127.0.0.1:{port}"],
                     "snmp": ["--listen", f"127.0.0.1:{snmp_port}"],
                     "collector": ["--interval", "5"], "anycast": [], "bird": [],
                     "unbound": []}
            execs = {}
            # The units that exec their daemon (the agent is python -m appliance.snmp).
            for svc in EXECS:
                execs[svc] = wrapper(svc, state, ns, work, unit_env(svc, use_unit_env),
                                     extra[svc], procs)
            for svc in RESIDENT:
                if svc in procs:
                    continue
                command = [sys.executable, "-c", PATIENT_IXPCTL] if svc == "web" else \
                    [str(IXPCTL)]
                procs[svc] = subprocess.Popen(
                    [*command, "run", svc, "--state-dir", str(state), "--netns", ns,
                     *extra[svc]], env={**unit_env(svc, use_unit_env), **helper_env},
                    stdout=subprocess.DEVNULL, stderr=(work / f"{svc}.log").open("wb"))
            web = Web(port)
            wait_for(lambda: web.get("/login") is not None, "the web UI")
            snmp = ["snmpbulkwalk", "-v2c", "-c", COMMUNITY, "-On", "-t", "10",
                    f"127.0.0.1:{snmp_port}"]
            # The agent listens in this namespace; only its collecting thread enters the lab's.
            wait_for(lambda: subprocess.run([*snmp[:-1], "-r", "0", snmp[-1], "1.3.6.1.2.1.1"],
                                            capture_output=True).returncode == 0,
                     "the SNMP agent")
            wait_for(lambda: (state / STATUS_FILE).exists(), "the anycast helper")
            web.login()
            peak = {svc: 0.0 for svc in RESIDENT}
            t1 = time.monotonic()
            web.change(token, "benchmark rack 1")
            change_s = time.monotonic() - t1
            for _ in range(ROUNDS):
                web.round()
                # the whole agent: IF-MIB and BGP4-MIB rows for every member
                subprocess.run([*snmp, "1.3.6.1"], capture_output=True, check=True,
                               timeout=300)
                time.sleep(5)
                for svc in RESIDENT:
                    if procs[svc].poll() is not None:
                        raise SystemExit(f"ixpctl run {svc} ended ({procs[svc].returncode})")
                    peak[svc] = max(peak[svc], tree_memory(procs[svc].pid)["rss"])
            final = {svc: tree_memory(procs[svc].pid) for svc in RESIDENT}
            daemons = {svc: tree_memory(procs[svc].pid) for svc in ("bird", "unbound")}
            helper = tree_memory(procs["apply"].pid) if via_helper else None
            bare = bare_python()
        finally:
            for proc in reversed(list(procs.values())):
                stop(proc)
            stop_resolver(state)
            stop_route_server(Target(state, ns))

    env_note = "with the units' Environment=" if use_unit_env else "without Environment="
    apply_note = ("the web applying through the apply helper, as on the image" if via_helper
                  else "the web applying in-process")
    print(f"service memory, {members} members, {env_note}, {apply_note}; after one change "
          f"through the API ({change_s:.0f} s) and {ROUNDS} rounds of web requests and SNMP "
          f"walks (lab built and applied in {setup_s:.0f} s)")
    print(f"{'process':<24}{'RSS MiB':>9}{'PSS MiB':>9}{'USS MiB':>9}{'peak MiB':>10}"
          f"{'RSS/bare':>10}")
    for svc in RESIDENT:
        m = final[svc]
        extra_procs = f"  ({m['procs']:.0f} processes)" if m["procs"] > 1 else ""
        print(f"{'run ' + svc:<24}{m['rss']:>9.1f}{m['pss']:>9.1f}{m['uss']:>9.1f}"
              f"{max(m['hwm'], peak[svc]):>10.1f}{m['rss'] / bare['rss']:>9.1f}x{extra_procs}")
    total = {k: sum(final[s][k] for s in RESIDENT) for k in ("rss", "pss", "uss", "hwm")}
    print(f"{'total (own processes)':<24}{total['rss']:>9.1f}{total['pss']:>9.1f}"
          f"{total['uss']:>9.1f}{total['hwm']:>10.1f}")
    goal = GOAL_MB * 1e6 / MIB
    print(f"{'goal (150 MB)':<24}{goal:>9.1f}{goal:>9.1f}")
    print(f"{'total / goal':<24}{total['rss'] / goal:>8.2f}x{total['pss'] / goal:>8.2f}x")
    print(f"{'bare python (reference)':<24}{bare['rss']:>9.1f}{bare['pss']:>9.1f}"
          f"{bare['uss']:>9.1f}{bare['hwm']:>10.1f}")
    if helper is not None:
        print(f"{'run apply (helper)':<24}{helper['rss']:>9.1f}{helper['pss']:>9.1f}"
              f"{helper['uss']:>9.1f}{helper['hwm']:>10.1f}  (not in the total: on the "
              "box it exits after an idle minute)")
    print("daemons (not the appliance's own code, not in the total):")
    for svc, m in daemons.items():
        print(f"{svc:<24}{m['rss']:>9.1f}{m['pss']:>9.1f}{m['uss']:>9.1f}{m['hwm']:>10.1f}")
    print(f"{'wrapper before exec':<24}{'peak MiB':>9}{'RSS MiB':>9}{'modules':>9}"
          f"{'peak/bare':>10}  heavy modules loaded")
    for svc, (hwm, rss, mods, heavy) in execs.items():
        print(f"{'run ' + svc:<24}{int(hwm) / 1024:>9.1f}{int(rss) / 1024:>9.1f}{mods:>9}"
              f"{int(hwm) / 1024 / bare['hwm']:>9.1f}x  {heavy.replace(',', ' ')}")


if __name__ == "__main__":
    main()
