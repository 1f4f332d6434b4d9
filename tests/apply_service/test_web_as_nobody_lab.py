"""The web UI as a user of its own in the lab: its change is applied by the root helper.

As on the image (ixp-web.service + ixp-apply.socket): the web app runs as ``nobody`` (for
``ixp-web``) with the unit's capabilities (none) in the appliance namespace, the apply helper
as root beside it. An admin's change through the JSON API is applied for real (the member's
port on the bridge, its hygiene rules in nftables, its BGP sessions with BIRD) and committed
with the admin as author, while the web process itself can neither write a revision nor run
nft. Fails before the split: the web then applied in-process, and as nobody it could not.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from appliance.config.revisions import RevisionStore
from appliance.lab.lab import LabState, member_protocols
from appliance.platform import netns
from appliance.platform.target import Target
from appliance.route_server.daemon import stop_bird
from appliance.route_server.service import ensure_running
from appliance.web.accounts import hash_password
from appliance.web.api import tokens
from labkit.netlab import applied_lab
from tests.cli.test_run_as_own_user import (
    as_unit_user,
    check_runs_as_user,
    child_env,
    own_user_ixpctl,
    running,
    service_dirs,
    wait_until,
)

pytestmark = [pytest.mark.netns, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
ADMIN = "alice"
PORT = 18080
NEW = {"asn": 64501, "name": "Coral Cloud", "ports": [{"interface": "ixp6"}],
       "macs": ["02:00:5e:10:00:06"], "ipv4": ["203.0.113.15"], "ipv6": ["2001:db8:eeee::15"]}


@pytest.fixture
def lab(root_required, example_text) -> Iterator[tuple[Path, LabState]]:
    """Two members in a lab of ours, committed by root as the boot's restore would."""
    state = Path(tempfile.mkdtemp(prefix="ixp-web-own-", dir="/var/tmp"))
    os.chmod(state, 0o755)
    data = yaml.safe_load(example_text)
    data["members"] = data["members"][:2]
    data["admin_users"] = [{"name": ADMIN, "password_hash": hash_password("a long pass phrase")}]
    text = yaml.safe_dump(data, allow_unicode=True)
    try:
        with applied_lab(state, text, "ixw", author="boot") as lab_state:
            target = Target(state, lab_state.appliance_netns)
            # the route server, as the dev runner or ixp-bird.service runs it
            pid = ensure_running(target)
            try:
                # as ``bird -u bird -g bird`` leaves it on the box: the web UI reaches it by
                # its group
                shutil.chown(target.bird_socket, group="bird")
                os.chmod(target.bird_socket, 0o660)
                yield state, lab_state
            finally:
                if pid:
                    stop_bird(pid)
    finally:
        shutil.rmtree(state, ignore_errors=True)


@contextlib.contextmanager
def helper(state: Path, ns: str) -> Iterator[subprocess.Popen[bytes]]:
    """``ixpctl run apply`` as root on the lab (what ixp-apply.service runs)."""
    argv = [sys.executable, "-m", "appliance.cli", "run", "apply", "--state-dir", str(state),
            "--netns", ns, "--web-user", "nobody"]
    log = state / "apply.log"
    # root's own environment (the shipped daemons the lab runs), not the own-user child's
    with log.open("ab") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        sock = Target(state, ns).apply_socket
        wait_until(sock.exists, 30, "the helper's socket", proc, log)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def curl(ns: str, *args: str) -> tuple[int, str]:
    """An HTTP request from inside the appliance namespace (the web listens on its loopback)."""
    done = netns.run(ns, ["curl", "-s", "-m", "600", "-w", "\n%{http_code}", *args],
                     check=False, timeout=660)
    body, _, code = done.stdout.rpartition("\n")
    return int(code or 0), body


def as_web_user(ns: str, *argv: str) -> subprocess.CompletedProcess[str]:
    """``argv`` as the web's user and capabilities, in the appliance namespace."""
    return subprocess.run(netns.command(ns, [*as_unit_user("ixp-web.service"), *argv]),
                          capture_output=True, text=True, timeout=60, check=False,
                          env={**child_env(), "PYTHONPATH": str(ROOT)}, cwd="/")


def test_an_admin_change_through_the_web_as_nobody_is_applied_by_the_helper(lab) -> None:
    state, lab_state = lab
    ns = lab_state.appliance_netns
    secret = tokens.create(state, "lab", ADMIN)
    # what ixp-web.service's root steps do: its folders its own, the revisions its group's
    service_dirs(state, "nobody", str(state / "web"), str(state / "candidates"))
    service_dirs(state, "--group-read-all", "nogroup", str(state / "revisions"))
    with helper(state, ns):
        # inside the namespace "the host" is the box's, as on the image: the web touches
        # the network there itself (reads), not through a namespace it may not enter
        argv = netns.command(ns, own_user_ixpctl(
            "ixp-web.service", state, "run", "web", "--state-dir", str(state),
            "--listen", f"127.0.0.1:{PORT}", env=("IXP_ALLOW_HOST_NETWORK=1",)))
        log = state / "web.log"
        with running(argv, log) as web:
            wait_until(lambda: curl(ns, f"http://127.0.0.1:{PORT}/login")[0] == 200, 60,
                       "the web UI answering", web, log)
            check_runs_as_user(web.pid, [])  # nobody, no capability at all

            auth = f"Authorization: Bearer {secret}"
            code, body = curl(ns, "-H", auth, "-H", "Content-Type: application/json",
                              "--data-binary", json.dumps(NEW),
                              f"http://127.0.0.1:{PORT}/api/v1/members")
            assert code == 200, f"HTTP {code}: {body}\n{log.read_text()[-3000:]}"
            out = json.loads(body)
            assert out["ok"] and out["revision"]["id"] == 2, out
            assert out["revision"]["author"] == ADMIN

            # applied for real in the namespace: the port on the bridge, its MAC lock in the
            # bridge's nft rules, its BGP sessions with the route server
            links = json.loads(netns.run(ns, ["ip", "-j", "link", "show", "ixp6"]).stdout)
            assert links and links[0].get("master"), f"ixp6 is on no bridge: {links}"
            rules = netns.run(ns, ["nft", "list", "ruleset"]).stdout
            assert "02:00:5e:10:00:06" in rules, "the new member's MAC is in no hygiene rule"
            new = next(m for m in LabState.load(state).members if m.asn == 64501)
            deadline, states = time.monotonic() + 120, {}
            while time.monotonic() < deadline:
                states = member_protocols(new)
                if set(states) == {"rs4", "rs6"} and set(states.values()) == {"Established"}:
                    break
                time.sleep(1)
            rs = subprocess.run(["birdc", "-s", str(Target(state).bird_socket), "show",
                                 "protocols"], capture_output=True, text=True, timeout=10,
                                check=False).stdout
            assert set(states.values()) == {"Established"} and len(states) == 2, \
                f"{states}; the route server: {rs}\n{(state / 'apply.log').read_text()[-3000:]}"

            # the looking glass, read by the web process itself (BIRD's socket, its group)
            code, body = curl(ns, "-H", auth, f"http://127.0.0.1:{PORT}/birdwatcher/protocols/bgp")
            assert code == 200, f"HTTP {code}: {body[:2000]}\n{log.read_text()[-3000:]}"
            names = sorted(json.loads(body)["protocols"])
            code, body = curl(ns, "-H", auth,
                              f"http://127.0.0.1:{PORT}/birdwatcher/routes/filtered/{names[0]}")
            assert code == 200 and "routes" in json.loads(body), \
                f"HTTP {code}: {body[:3000]}\n{log.read_text()[-3000:]}"

            # the onboarding checklist asks on the LAN who answers the member's addresses: a
            # packet socket, which the web (no CAP_NET_RAW) opens through the helper
            def neighbours() -> dict:
                code, body = curl(ns, "-H", auth,
                                  f"http://127.0.0.1:{PORT}/api/v1/members/64501/onboarding")
                assert code == 200, f"HTTP {code}: {body[:2000]}\n{log.read_text()[-3000:]}"
                return next(c for c in json.loads(body)["checks"] if c["check"] == "neighbours")
            # IPv6 answers once the router's address left duplicate address detection
            deadline, check = time.monotonic() + 30, neighbours()
            while not check["ok"] and time.monotonic() < deadline:
                time.sleep(1)
                check = neighbours()
            assert check["ok"], check["findings"]

            # committed by the helper, readable by the web's group, written by root only
            rev = RevisionStore(state).latest()
            assert rev.id == 2 and rev.author == ADMIN
            path = state / "revisions" / f"{rev.id:06d}.json"
            st = path.stat()
            assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == \
                (0, pwd.getpwnam("nobody").pw_gid, 0o640)
            # the history as the web shows it, read by the web process itself
            code, body = curl(ns, "-H", auth, f"http://127.0.0.1:{PORT}/api/v1/revisions")
            assert code == 200 and [r["id"] for r in json.loads(body)] == [2, 1], body
            assert "Traceback" not in log.read_text(errors="replace"), log.read_text()

    # the web's user cannot apply by itself: no revision written, no nft
    forged = as_web_user(ns, sys.executable, "-c",
                         "import sys; from pathlib import Path; "
                         "from appliance.config.revisions import RevisionStore; "
                         "RevisionStore(Path(sys.argv[1])).commit('x: 1', 'mallory', '')",
                         str(state))
    assert forged.returncode != 0 and "PermissionError" in forged.stderr, forged.stderr
    assert RevisionStore(state).latest().id == 2
    nft = as_web_user(ns, "nft", "list", "ruleset")
    assert nft.returncode != 0 and "Operation not permitted" in nft.stderr, nft.stderr
