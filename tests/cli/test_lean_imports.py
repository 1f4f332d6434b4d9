"""What a unit's ``ixpctl run X`` imports before it execs its daemon, or while it serves.

Every module a verb imports stays in that process's memory (issue 14: the 1 GB box): the
wrappers that exec BIRD, unbound and the SNMP agent, and the resident collector and anycast
helper, must not load the web UI, the SNMP stack or the template engine they never use.
Structural only: which modules, never how many bytes (bench/service_memory.py measures).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from appliance.cli import COMMAND_MODULES, VERB_MODULE, build_parser

from ..conftest import EXAMPLE

# Replaces exec by a report of what was imported by then: the real code path up to the exec.
AT_EXEC = """
import json, os, sys
def report(file, args):
    print(json.dumps({"argv": list(args), "modules": sorted(sys.modules)}), flush=True)
    os._exit(0)
os.execv = os.execvp = report
from appliance.cli import main
sys.exit(main(sys.argv[1:]))
"""

WEB_AND_SNMP = {"flask", "werkzeug", "flask_wtf", "argon2", "pysnmp"}


def modules_at_exec(*args: str) -> tuple[list[str], set[str]]:
    proc = subprocess.run([sys.executable, "-c", AT_EXEC, *args], capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0 and proc.stdout, proc.stderr
    doc = json.loads(proc.stdout.splitlines()[-1])
    return doc["argv"], {m.split(".")[0] for m in doc["modules"]}


@pytest.fixture(scope="module")
def applied(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A state dir with the example committed (config only: no namespace, nothing runs)."""
    state = tmp_path_factory.mktemp("state")
    done = subprocess.run([sys.executable, "-m", "appliance.cli", "apply", "-c", str(EXAMPLE),
                           "--state-dir", str(state)], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return state


def test_run_bird_execs_without_the_web_ui_snmp_or_templates(applied: Path):
    argv, top = modules_at_exec("run", "bird", "--state-dir", str(applied))
    assert argv[0].endswith("bird") and "-f" in argv
    assert not top & (WEB_AND_SNMP | {"jinja2"}), sorted(top & (WEB_AND_SNMP | {"jinja2"}))


def test_run_unbound_execs_without_the_web_ui_or_snmp(applied: Path):
    argv, top = modules_at_exec("run", "unbound", "--state-dir", str(applied))
    assert any(a.endswith("unbound") for a in argv) and "-d" in argv
    assert not top & WEB_AND_SNMP, sorted(top & WEB_AND_SNMP)


def test_run_snmp_execs_the_agent_without_the_web_ui(applied: Path):
    (applied / "etc" / "snmp").mkdir(parents=True, exist_ok=True)
    (applied / "etc" / "snmp" / "agent.json").touch(exist_ok=True)
    argv, top = modules_at_exec("run", "snmp", "--state-dir", str(applied))
    assert argv[1:3] == ["-m", "appliance.snmp"]
    assert not top & WEB_AND_SNMP, sorted(top & WEB_AND_SNMP)


def _verbs(parser: argparse.ArgumentParser) -> set[str]:
    return set(next(a for a in parser._actions
                    if isinstance(a, argparse._SubParsersAction)).choices)


def test_every_verb_is_registered_by_the_module_the_table_names():
    assert _verbs(build_parser()) == set(VERB_MODULE)
    for module, verbs in COMMAND_MODULES.items():
        assert _verbs(build_parser(verbs[0])) == set(verbs), module
