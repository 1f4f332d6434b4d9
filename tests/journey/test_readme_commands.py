"""The README's two commands, exactly as written, from a fresh clone (issue 13, item 1).

Components were tested well while a new user's first command failed (a relative state dir).
So this walks the newcomer's first hour as they would: a fresh copy of the repository, the
demo command typed in its folder with its default options, the web UI answering on the port
the README names, ``ixpctl`` finding the running demo by itself, a member added the way the
README shows (the lab makes its port and router), Ctrl-C, the demo started again with the
user's work kept, and the test command set up and collecting from the same fresh clone.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from appliance.platform import netns

from ..conftest import ROOT

pytestmark = [pytest.mark.netns, pytest.mark.slow]

README = ROOT / "README.md"


def readme_commands() -> dict[str, str]:
    """The two commands in the README's "The two commands" block, by verb (demo, test)."""
    text = README.read_text()
    section = text.split("## The two commands", 1)[1]
    block = section.split("```sh", 1)[1].split("```", 1)[0]
    found: dict[str, str] = {}
    for line in block.strip().splitlines():
        command = line.split("#", 1)[0].strip()
        verb = shlex.split(command)[-1]
        found[verb] = command
    return found


def readme_member_add() -> list[str]:
    """The README's own ``ixpctl member add`` example, as argv."""
    text = README.read_text()
    match = re.search(r"^(\.venv/bin/ixpctl member add .*?)\n(?!\s)", text,
                      re.MULTILINE | re.DOTALL)
    assert match, "the README lost its 'ixpctl member add' example"
    return shlex.split(match.group(1).replace("\\\n", " "))


def fresh_clone(dest: Path) -> Path:
    """What ``git clone`` of this tree gives: the tracked (and new, not ignored) files."""
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                            "--exclude-standard"], cwd=ROOT, check=True,
                           capture_output=True).stdout.decode().split("\0")
    for name in filter(None, files):
        src = ROOT / name
        if not src.exists() and not src.is_symlink():
            continue  # deleted in the working tree, not yet committed
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target, follow_symlinks=False)
    return dest


def _env() -> dict[str, str]:
    # A user's shell: none of the test run's own state-dir or venv settings leak in.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("IXP_", "PYTEST", "VIRTUAL_ENV"))}
    env["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    return env


class Demo:
    """The demo command running in the clone, read line by line."""

    def __init__(self, clone: Path, command: str) -> None:
        self.proc = subprocess.Popen(shlex.split(command), cwd=clone, env=_env(),
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, start_new_session=True)
        self.seen = ""

    def wait_for(self, pattern: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            self.seen += line
            if pattern in line:
                return line
            if not line and self.proc.poll() is not None:
                break
        raise AssertionError(f"never saw {pattern!r}; the demo printed:\n{self.seen[-6000:]}")

    def ctrl_c(self) -> int:
        """What a user's Ctrl-C does: SIGINT to the foreground process group."""
        os.killpg(self.proc.pid, signal.SIGINT)
        try:
            rc = self.proc.wait(timeout=60)
        finally:
            self.seen += self.proc.stdout.read() if self.proc.stdout else ""
        return rc

    def kill(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


def ixpctl(clone: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``.venv/bin/ixpctl ARGS`` typed in the clone, with no --state-dir."""
    return subprocess.run([str(clone / ".venv/bin/ixpctl"), *args], cwd=clone, env=_env(),
                          capture_output=True, text=True, timeout=120, check=False)


def _sessions(clone: Path, asn: int) -> dict[str, str]:
    out = ixpctl(clone, "lab", "status", "--json")
    if out.returncode != 0:
        return {}
    for m in json.loads(out.stdout)["members"]:
        if m["asn"] == asn:
            return m["sessions"]
    return {}


def test_readme_names_the_two_commands_and_ci_runs_the_test_one():
    commands = readme_commands()
    assert set(commands) == {"demo", "test"}, commands
    # CI's script runs the README's test command and nothing else
    ci = [line for line in (ROOT / ".ci/run").read_text().splitlines()
          if line.strip() and not line.startswith("#")]
    assert ci[-1].split() == ["exec", *shlex.split(commands["test"])], ci


def test_the_readme_two_commands_from_a_fresh_clone(root_required, tmp_path):
    commands = readme_commands()
    clone = fresh_clone(tmp_path / "ixp-appliance")
    assert not (clone / ".venv").exists() and not (clone / "state").exists()
    prefixes: list[str] = []
    demo = Demo(clone, commands["demo"])
    try:
        # the setup installs a virtual environment of its own first: minutes, not seconds
        lab_line = demo.wait_for("lab ixl-", 900)
        prefixes.append(lab_line.split()[1].rstrip(":"))
        url = demo.wait_for("Open http://", 180).split("Open ")[1].split()[0]
        assert url == "http://127.0.0.1:8080/", url
        code = demo.wait_for("setup code for the wizard:", 10).split(":")[-1].strip()
        page = urllib.request.urlopen(url, timeout=10)
        assert page.url.endswith("/setup") and "setup code" in page.read().decode()

        # item 6: commands find the running demo's state without --state-dir
        got = ixpctl(clone, "setup-code")
        assert got.returncode == 0 and got.stdout.strip() == code, (got.stdout, got.stderr)
        assert not Path("/var/lib/ixp-appliance/web/setup-code").exists() or \
            Path("/var/lib/ixp-appliance/web/setup-code").read_text().strip() != code
        status = ixpctl(clone, "status")
        assert status.returncode == 0, status.stderr
        assert str(clone / "state" / "demo") in status.stdout, status.stdout

        # item 4: the README's member-add example works in the demo: port and router appear
        argv = readme_member_add()
        added = ixpctl(clone, *argv[1:])
        assert added.returncode == 0, added.stdout + added.stderr
        asn = int(argv[argv.index("--asn") + 1])
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            sessions = _sessions(clone, asn)
            if sessions and all(s == "Established" for s in sessions.values()):
                break
            time.sleep(2)
        assert sessions and all(s == "Established" for s in sessions.values()), sessions

        assert demo.ctrl_c() == 0, demo.seen[-3000:]
        assert netns.list_with_prefix(prefixes[0] + "-") == []

        # item 5: the second run keeps the user's work (member, setup code), no --fresh
        demo = Demo(clone, commands["demo"])
        demo.wait_for("keeping the demo's state", 300)
        prefixes.append(demo.wait_for("lab ixl-", 60).split()[1].rstrip(":"))
        demo.wait_for("Open http://", 180)
        again = demo.wait_for("setup code for the wizard:", 10).split(":")[-1].strip()
        assert again == code
        listed = ixpctl(clone, "member", "list")
        assert str(asn) in listed.stdout, listed.stdout + listed.stderr
        assert demo.ctrl_c() == 0, demo.seen[-3000:]
    finally:
        demo.kill()
        for prefix in prefixes:
            for name in netns.list_with_prefix(prefix + "-"):
                netns.remove(name)

    # the test command, from the same fresh clone: set up, ruff clean, the suite collects
    # (the whole suite inside itself would never end; CI runs it as written, from a clone)
    test_argv = [*shlex.split(commands["test"]), "--collect-only", "-q"]
    run = subprocess.run(test_argv, cwd=clone, env=_env(), capture_output=True, text=True,
                         timeout=900, check=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "All checks passed" in run.stdout + run.stderr
    assert re.search(r"\d+ tests collected", run.stdout), run.stdout[-2000:]
