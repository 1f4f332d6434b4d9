"""The appliance's own daemons as the image's units run them: each as a user of its own
(issue 16 item 8), with only the capabilities its unit gives (AmbientCapabilities=,
CapabilityBoundingSet=), on a state dir whose folders ``ixp-service-dirs`` (the units'
``ExecStartPre=+``) gave to that user.

``nobody`` stands in for ``ixp-snmp``, ``ixp-collector`` and ``ixp-stayrtr`` (the host has no
such users); ``setpriv`` does what systemd does for ``User=`` and the capability lines, read
from the unit files themselves. Everything runs inside namespaces the tests make, on a state
dir under /var/tmp (the image's /var/lib/ixp-appliance is one every user may enter, pytest's
tmp_path is not); the checkout is bound onto a folder of it for the child, since a clone in
/root is out of USER's reach. The host's daemons are used (``IXP_SHIPPED_ROOT`` empty for
the child): the shipped tree is root's only.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.alerts.concern import AlertsConcern
from appliance.alerts.store import AlertStore
from appliance.box import build_pipeline
from appliance.monitor.concern import MonitorConcern
from appliance.monitor.store import samples_path
from appliance.pipeline import staging
from appliance.platform import netns, shipped
from appliance.route_server import rpki_service
from appliance.snmp.concern import SnmpConcern
from appliance.snmp.paths import PID_FILE
from labkit import netlab
from tests.bird.configs import config, member
from tests.snmp.snmplab import COMMUNITY, build_lab, lab_config, ns_run

pytestmark = pytest.mark.netns

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "systemd"
SERVICE_DIRS = ROOT / "rootfs" / "usr" / "local" / "sbin" / "ixp-service-dirs"
VRPS = ROOT / "tests" / "fixtures" / "bird" / "vrps.json"
USER = "nobody"
CAP_BITS = {"net_bind_service": 10, "net_admin": 12, "net_raw": 13}


def unit_caps(unit: str) -> tuple[list[str], list[str]]:
    """(AmbientCapabilities, CapabilityBoundingSet) of a unit, as lower-case names."""
    found: dict[str, list[str]] = {}
    for line in (UNITS / unit).read_text().splitlines():
        key, _, value = line.partition("=")
        if key in ("AmbientCapabilities", "CapabilityBoundingSet"):
            found[key] = [c.removeprefix("CAP_").lower() for c in value.split()]
    return found["AmbientCapabilities"], found["CapabilityBoundingSet"]


def as_unit_user(unit: str) -> list[str]:
    """``setpriv`` becoming USER with the unit's supplementary groups and capabilities."""
    ambient, bounding = unit_caps(unit)
    groups = [str(pwd.getpwnam(USER).pw_gid)]
    for line in (UNITS / unit).read_text().splitlines():
        if line.startswith("SupplementaryGroups="):
            groups += [str(_gid(g)) for g in line.split("=", 1)[1].split()]
    def caps(names: list[str]) -> str:
        return ",".join(["-all", *(f"+{c}" for c in names)])
    pw = pwd.getpwnam(USER)
    return ["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}",
            f"--groups={','.join(groups)}", f"--inh-caps={caps(ambient)}",
            f"--ambient-caps={caps(ambient)}", f"--bounding-set={caps(bounding)}"]


def _gid(group: str) -> int:
    import grp
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        pytest.fail(f"group {group} is missing: the test command installs bird2 and unbound")


def service_dirs(state: Path, *args: str) -> None:
    """The units' root step (``ixp-service-dirs``) on this state dir."""
    done = subprocess.run(["sh", str(SERVICE_DIRS), *args], capture_output=True, text=True,
                          env={**os.environ, "IXP_SERVICE_DIRS_STATE": str(state)},
                          timeout=30, check=False)
    assert done.returncode == 0, done.stderr


def proc_status(pid: int) -> dict[str, str]:
    """/proc/PID/status as key -> value."""
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return dict(line.split(":\t", 1) for line in lines if ":\t" in line)


def check_runs_as_user(pid: int, caps: list[str]) -> None:
    """The process runs as USER (real and effective) holding exactly ``caps``."""
    st = proc_status(pid)
    uid = pwd.getpwnam(USER).pw_uid
    assert st["Uid"].split()[:2] == [str(uid), str(uid)], f"runs as uid {st['Uid']}"
    want = sum(1 << CAP_BITS[c] for c in caps)
    assert int(st["CapEff"], 16) == want, f"CapEff {st['CapEff']}, want {want:x} ({caps})"


# The checkout may lie where USER cannot enter (a clone in /root, mode 700): the child binds it
# onto a folder of the state dir, in a mount namespace of its own, before it becomes USER.
_BIND = 'mount --bind "$0" "$1" && shift && exec "$@"'


def own_user_ixpctl(unit: str, state: Path, *args: str, env: tuple[str, ...] = ()
                    ) -> list[str]:
    """``ixpctl ARGS`` as ``unit``'s user and capabilities, from this checkout made readable."""
    code = state / ".checkout"
    code.mkdir(exist_ok=True)
    venv = Path(sys.prefix).resolve()
    python = code / venv.relative_to(ROOT) / "bin" / "python" if venv.is_relative_to(ROOT) \
        else Path(sys.executable)
    return ["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", _BIND,
            str(ROOT), str(code), *as_unit_user(unit), "env", f"PYTHONPATH={code}", *env,
            str(python), "-m", "appliance.cli", *args]


def child_env() -> dict[str, str]:
    """The child's environment: the host's daemons (see the module doc)."""
    return {**os.environ, shipped.ENV: ""}


@pytest.fixture
def state() -> Iterator[Path]:
    """A state dir every user may enter, as the image's is."""
    path = Path(tempfile.mkdtemp(prefix="ixp-own-user-", dir="/var/tmp"))
    os.chmod(path, 0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def running(argv: list[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A daemon we start; stopped with SIGTERM (as systemd does), killed if it lingers."""
    with log.open("ab") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=log.parent,
                                env=child_env())
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def wait_until(check, timeout: float, what: str, proc: subprocess.Popen[bytes], log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{what}: the daemon exited ({proc.returncode}):\n"
                                 f"{log.read_text(errors='replace')[-3000:]}")
        got = check()
        if got:
            return got
        time.sleep(0.3)
    raise AssertionError(f"{what}: not within {timeout:g} s:\n"
                         f"{log.read_text(errors='replace')[-3000:]}")


def test_service_dirs_refuses_paths_outside_the_state_dir(state: Path) -> None:
    for bad in ("/etc", f"{state}/../etc", str(state)):
        done = subprocess.run(["sh", str(SERVICE_DIRS), USER, bad], capture_output=True,
                              text=True, timeout=30, check=False,
                              env={**os.environ, "IXP_SERVICE_DIRS_STATE": str(state)})
        assert done.returncode == 2, (bad, done.stderr)
        assert "state directory" in done.stderr or "no '..'" in done.stderr, done.stderr


def test_other_services_still_list_the_revisions_the_web_ui_may_read(state: Path,
                                                                      root_required) -> None:
    """ixp-web.service gives the web UI's group the committed revisions; the anycast helper
    and the collector, of other groups, still list which revisions there are (the helper
    polls for a new one) but read none (they hold the members' MD5 passwords). Once the
    folder was 0750 and the anycast helper, failing to list it, restarted in a loop."""
    from appliance.config.revisions import RevisionStore

    RevisionStore(state).commit("members: []\n", author="t", comment="first")
    service_dirs(state, "--group-read-all", "root", str(state / "revisions"))
    script = ("import sys; from pathlib import Path; "
              "from appliance.config.revisions import RevisionStore; "
              "store = RevisionStore(Path(sys.argv[1])); "
              "print(store.ids(), store.latest() is None)")
    done = subprocess.run([*as_unit_user("ixp-anycast.service"), sys.executable, "-c", script,
                           str(state)], capture_output=True, text=True, timeout=60,
                          check=False, env={**child_env(), "PYTHONPATH": str(ROOT)}, cwd="/")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["[1]", "True"], done.stdout  # listed, not readable


def test_snmp_agent_as_its_own_user_binds_161_and_answers(state: Path, root_required) -> None:
    """The agent of ixp-snmp.service: port 161 and SO_BINDTODEVICE with its two ambient
    capabilities, its configuration through its group only, its own folders writable."""
    with netlab.session(state / "netlab", "ixo") as net:
        lab = build_lab(net, state)
        cfg = lab_config()
        files = {f.path: f for f in SnmpConcern().render(cfg)}
        staging.install_files(state / "etc", files, list(files))
        agent_file = state / "etc" / next(iter(files))
        assert agent_file.stat().st_mode & 0o777 == 0o640, "communities: not for everyone"
        # nogroup stands in for ixp-snmp (the image's pipeline gives the file to that group)
        service_dirs(state, "--group-read", "nogroup", str(agent_file))
        service_dirs(state, USER, str(state / "snmp"), str(state / "run" / "snmp"))
        argv = netns.command(lab.ixp, own_user_ixpctl(
            "ixp-snmp.service", state, "run", "snmp", "--state-dir", str(state),
            "--listen", "127.0.0.1:161", "--listen", "192.0.2.1:161"))
        log = state / "agent.log"
        with running(argv, log) as proc:
            def answers() -> str:
                r = ns_run(lab.ixp, "snmpget", "-v2c", "-c", COMMUNITY, "-On", "-t", "1",
                           "-r", "0", "127.0.0.1:161", "1.3.6.1.2.1.1.6.0", check=False)
                return r.stdout if r.returncode == 0 else ""
            got = wait_until(answers, 60, "the agent answering on port 161", proc, log)
            assert "Example Town" in got, got
            check_runs_as_user(proc.pid, ["net_bind_service", "net_raw"])
            pid_file = state / "run" / PID_FILE
            assert int(pid_file.read_text()) == proc.pid
            owner = pwd.getpwnam(USER).pw_uid
            assert (state / "snmp" / "ifindex.json").stat().st_uid == owner
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(15) == 0, log.read_text(errors="replace")[-2000:]
        assert not pid_file.exists(), "the agent left its PID file"


def test_collector_as_its_own_user_samples_and_runs_the_alerts(state: Path,
                                                               root_required) -> None:
    """ixp-collector.service's process: samples the member ports and keeps the alert state
    in its own folders; a file root writes there (the web UI) stays the collector's."""
    with netlab.session(state / "netlab", "ixo") as net:
        lab = build_lab(net, state)
        cfg = lab_config()
        files = {f.path: f for c in (MonitorConcern(), AlertsConcern()) for f in c.render(cfg)}
        staging.install_files(state / "etc", files, list(files))
        settings = state / "etc" / "alerts" / "alerts.json"
        assert settings.stat().st_mode & 0o777 == 0o640, "channel secrets: not for everyone"
        service_dirs(state, "--group-read", "nogroup", str(settings))
        service_dirs(state, USER, str(state / "monitor"), str(state / "alerts"))
        argv = netns.command(lab.ixp, own_user_ixpctl(
            "ixp-collector.service", state, "run", "collector", "--interval", "1",
            "--state-dir", str(state), env=("IXP_ALLOW_HOST_NETWORK=1",)))
        log = state / "collector.log"
        owner = pwd.getpwnam(USER).pw_uid
        with running(argv, log) as proc:
            def sampled() -> int:
                path = samples_path(state)
                if not path.exists():
                    return 0
                with contextlib.closing(sqlite3.connect(path, timeout=5)) as db:
                    return db.execute("SELECT COUNT(DISTINCT ts) FROM fine WHERE port = ?",
                                      ("ixp1",)).fetchone()[0] >= 2
            wait_until(sampled, 60, "two samples of the member port ixp1", proc, log)
            wait_until(lambda: (state / "alerts" / "state.json").exists(), 30,
                       "the alert engine's state", proc, log)
            check_runs_as_user(proc.pid, ["net_admin"])
            assert samples_path(state).stat().st_uid == owner
            assert (state / "alerts" / "state.json").stat().st_uid == owner
            assert "Traceback" not in log.read_text(errors="replace"), log.read_text()
        # root (the web UI, ixpctl) writing the alert files hands them to the collector
        store = AlertStore(state)
        with store.locked():
            store.save_state(store.state())
        for name in ("state.json", "lock"):
            assert (state / "alerts" / name).stat().st_uid == owner, name


def test_stayrtr_as_its_own_user_serves_without_reading_secrets(state: Path,
                                                                 root_required) -> None:
    """ixp-stayrtr.service: stayrtr runs as its user with no capability at all and serves RTR
    on 3323; where to listen comes from etc/stayrtr/listen, while the revisions and bird.conf
    (with the secrets) stay unreadable to it."""
    with netlab.session(state / "netlab", "ixo") as net:
        ns = net.namespace("rtr")
        cfg = config([member(1, 64501, md5_password="not-for-stayrtr")], lab=True,
                     rpki_validators=[{"host": "127.0.0.1", "port": 3323}])
        assert build_pipeline(state).run(cfg, author="test").ok
        rpki_service.import_vrps(state, VRPS)
        secret = [*(state / "revisions").iterdir(), state / "etc" / "bird" / "bird.conf"]
        assert all(p.stat().st_mode & 0o004 == 0 for p in secret), "secrets for everyone"
        assert (state / "etc" / rpki_service.STAYRTR_LISTEN).read_text().strip() == \
            "127.0.0.1:3323"
        argv = own_user_ixpctl("ixp-stayrtr.service", state, "run", "stayrtr",
                               "--state-dir", str(state))
        log = state / "stayrtr.log"
        with running(netns.command(ns, argv), log) as proc:
            def listening() -> bool:
                out = netns.run(ns, ["ss", "-ltnH", "sport = :3323"], check=False).stdout
                return bool(out.strip())
            wait_until(listening, 30, "stayrtr listening on 3323", proc, log)
            check_runs_as_user(proc.pid, [])
            assert Path(f"/proc/{proc.pid}/exe").resolve().name == "stayrtr"
