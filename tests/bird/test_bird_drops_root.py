"""BIRD as the image runs it: started as root, it becomes ``bird`` (issue 16 item 8).

A real BIRD in a test namespace, with the same command line the image's unit uses
(``foreground_argv(ctx, "bird")``), on a state dir the ``bird`` user can enter (the image's
/var/lib/ixp-appliance is such a place; pytest's tmp_path is not). It must run as ``bird``,
still bind BGP's port 179 and answer on its socket, and re-read a newly installed
configuration (``configure``), which needs the file to be readable by the ``bird`` group.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from appliance.pipeline import staging
from appliance.pipeline.concern import ApplyContext
from appliance.platform import netns, shipped
from appliance.platform.bird.control import BirdControl, BirdUnavailable
from appliance.platform.target import Target
from appliance.route_server import daemon
from appliance.route_server.concern import RouteServerConcern
from tests.bird.configs import config, member

pytestmark = pytest.mark.netns


@pytest.fixture
def bird_user() -> str:
    try:
        pwd.getpwnam(daemon.USER)
    except KeyError:
        pytest.fail("the bird user is missing: the README's test command installs Debian's "
                    "bird2 package, which creates it")
    return daemon.USER


def _install(ctx: ApplyContext, cfg) -> None:
    files = {f.path: f for f in RouteServerConcern().render(cfg)}
    staging.install_files(ctx.etc_dir, files, list(files))


def _answering(sock: Path, timeout: float = 20) -> BirdControl:
    deadline = time.monotonic() + timeout
    while True:
        try:
            bc = BirdControl(sock, timeout=5)
            bc.__enter__()
            bc.status()
            return bc
        except (BirdUnavailable, OSError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_bird_runs_as_bird_and_reconfigures(bird_user, netlab):
    ns = netlab.namespace("rs")  # removed by the test's lab after the test
    # /var/tmp: a directory every user may enter, as the image's state dir is
    state = Path(tempfile.mkdtemp(prefix="ixp-bird-user-", dir="/var/tmp"))
    os.chmod(state, 0o755)
    proc = None
    try:
        netns.run(ns, ["ip", "addr", "add", "185.1.0.1/21", "dev", "lo"])
        ctx = ApplyContext(Target(state, ns))
        _install(ctx, config([member(1, 64501)], lab=True))
        conf = ctx.etc_dir / daemon.CONF
        assert conf.stat().st_mode & 0o777 == 0o640, "MD5 passwords: not for everyone"
        assert conf.stat().st_gid == pwd.getpwnam(bird_user).pw_gid
        ctx.run_dir.mkdir(parents=True, exist_ok=True)
        # Both steps as the image's unit runs them: within its capability bounding set.
        confine = unit_bounding_set()
        prep = subprocess.run(
            [*confine, sys.executable, "-c",
             "import sys; from pathlib import Path; from appliance.route_server import daemon; "
             "from appliance.platform.target import Target; "
             "daemon.own_files_for(Target(Path(sys.argv[1])), sys.argv[2])",
             str(state), bird_user], capture_output=True, text=True, check=False)
        assert prep.returncode == 0, prep.stderr
        argv = daemon.foreground_argv(ctx.target, bird_user)
        assert argv[-4:] == ["-u", bird_user, "-g", bird_user]
        # the image's BIRD (IXP_SHIPPED_ROOT): the rendered config has ASPA, which needs 2.16+
        proc = subprocess.Popen(netns.command(ns, shipped.wrap([*confine, *argv])),
                                stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        bc = _answering(daemon.control_socket(ctx.target))
        try:
            uid = int(next(line.split()[2] for line in
                           Path(f"/proc/{_bird_pid(proc.pid)}/status").read_text().splitlines()
                           if line.startswith("Uid:")))
            assert pwd.getpwuid(uid).pw_name == bird_user, "BIRD still runs as root"
            listening = netns.run(ns, ["ss", "-ltnH", "sport", "= :179"]).stdout
            assert ":179" in listening, "BIRD as bird could not bind BGP's port"
            # a new revision's file, installed by root as the pipeline does, is read by bird
            _install(ctx, config([member(1, 64501), member(2, 64502)], lab=True))
            reply = bc.configure()
            assert reply.code < 1000 and "Reconfigured" in reply.text, reply.text
            names = {p.name for p in bc.protocols()}
            assert any("64502" in n for n in names), names
        finally:
            bc.__exit__(None, None, None)
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(state, ignore_errors=True)


UNIT = Path(__file__).parents[2] / "systemd" / "ixp-bird.service"


def unit_bounding_set() -> list[str]:
    """``setpriv`` limiting the capability bounding set to the unit's CapabilityBoundingSet."""
    line = next(x for x in UNIT.read_text().splitlines()
                if x.startswith("CapabilityBoundingSet="))
    caps = [c.removeprefix("CAP_").lower() for c in line.split("=", 1)[1].split()]
    return ["setpriv", "--bounding-set", ",".join(["-all", *(f"+{c}" for c in caps)])]


def _bird_pid(wrapper: int) -> int:
    """``ip netns exec`` execs BIRD in the same process: the PID is BIRD's."""
    return wrapper
