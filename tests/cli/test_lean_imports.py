"""What a unit's ``ixpctl run X`` imports before it execs its daemon, or while it serves.

Every module a verb imports stays in that process's memory (issue 14: the 1 GB box): the
wrappers that exec BIRD, unbound and the SNMP agent, and the resident collector, anycast helper
and SNMP agent, must not load the web UI, the SNMP stack, the template engine, the config
model (pydantic), pexpect or pyroute2 they do not need: each resident one reads the small
file its concern renders for it. Structural only: which modules, never how many bytes
(bench/service_memory.py measures).
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
# What a resident service never needs: the web UI's, the model's (pydantic, yaml), the
# template engine, pexpect (the full BIRD client) and pyroute2 (22 MiB of modules alone).
HEAVY = WEB_AND_SNMP | {"jinja2", "pydantic", "yaml", "pexpect", "pyroute2"}

# Runs a resident ``ixpctl run X`` until its service has started and made a round (the
# collector samples, the helper reads its checks), then reports what was imported by then.
AFTER_START = """
import json, sys, time
from appliance.cli import main, run_cmds
def report(svc):
    svc.start()
    time.sleep(1.0)
    modules = sorted(sys.modules)
    svc.stop()
    print(json.dumps({"name": svc.name, "modules": modules}), flush=True)
    return 0
run_cmds.serve_until_signal = report
sys.exit(main(sys.argv[1:]))
"""

# The SNMP agent's process (``python -m appliance.snmp``, what ``run snmp`` execs): what it
# imported once it listens and has collected every section of its tree once.
AGENT_STARTED = """
import json, sys
from appliance.snmp import __main__ as entry
from appliance.snmp.agent import Agent
started = Agent.start_engine
def start_engine(self):
    started(self)
    tree = self._tree(self.settings, self.engine)
    for section in tree.sections:
        section.collect()
    print(json.dumps({"listening": self.listening, "modules": sorted(sys.modules)}), flush=True)
    self.request_stop()
Agent.start_engine = start_engine
sys.exit(entry.main(sys.argv[1:]))
"""


def modules_at_exec(*args: str) -> tuple[list[str], set[str]]:
    proc = subprocess.run([sys.executable, "-c", AT_EXEC, *args], capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0 and proc.stdout, proc.stderr
    doc = json.loads(proc.stdout.splitlines()[-1])
    return doc["argv"], {m.split(".")[0] for m in doc["modules"]}


def modules_after_start(code: str, *args: str) -> tuple[dict, set[str]]:
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0 and proc.stdout, proc.stderr
    doc = json.loads(proc.stdout.splitlines()[-1])
    return doc, {m.split(".")[0] for m in doc["modules"]}


@pytest.fixture(scope="module")
def applied(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A state dir with the example committed (config only: no namespace, nothing runs)."""
    from appliance.config.loader import load_config_text
    from appliance.monitor.concern import MonitorConcern

    state = tmp_path_factory.mktemp("state")
    done = subprocess.run([sys.executable, "-m", "appliance.cli", "apply", "-c", str(EXAMPLE),
                           "--state-dir", str(state)], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    # the collector's file as its concern renders it, whether or not the pipeline runs it yet
    [rendered] = MonitorConcern().render(load_config_text(EXAMPLE.read_text()))
    (state / "etc" / rendered.path).parent.mkdir(parents=True, exist_ok=True)
    (state / "etc" / rendered.path).write_bytes(rendered.content)
    return state


def test_run_bird_execs_without_the_web_ui_snmp_or_templates(applied: Path):
    argv, top = modules_at_exec("run", "bird", "--state-dir", str(applied))
    assert argv[0].endswith("bird") and "-f" in argv
    assert not top & (WEB_AND_SNMP | {"jinja2"}), sorted(top & (WEB_AND_SNMP | {"jinja2"}))


def test_run_unbound_execs_without_the_web_ui_snmp_or_templates(applied: Path):
    argv, top = modules_at_exec("run", "unbound", "--state-dir", str(applied))
    assert any(a.endswith("unbound") for a in argv) and "-d" in argv
    # the launch file is written without the renderer
    assert not top & (WEB_AND_SNMP | {"jinja2"}), sorted(top & (WEB_AND_SNMP | {"jinja2"}))


def test_run_collector_reads_its_file_not_the_model(applied: Path):
    doc, top = modules_after_start(AFTER_START, "run", "collector", "--state-dir",
                                   str(applied), "--interval", "0.2")
    assert doc["name"] == "collector"
    assert "appliance.monitor.targets" in doc["modules"]
    assert not top & HEAVY, sorted(top & HEAVY)


def test_run_anycast_reads_its_file_not_the_model(applied: Path):
    from appliance.anycast.health import CHECKERS_FILE

    assert (applied / "etc" / CHECKERS_FILE).exists()  # rendered by the anycast concern
    doc, top = modules_after_start(AFTER_START, "run", "anycast", "--state-dir", str(applied))
    assert doc["name"] == "anycast"
    assert not top & HEAVY, sorted(top & HEAVY)


def test_the_snmp_agent_serves_without_the_model_or_pyroute2(applied: Path, tmp_path: Path):
    from appliance.snmp.paths import AGENT_FILE

    # the example's file, with the agent on (the example leaves SNMP off)
    settings = json.loads((applied / "etc" / AGENT_FILE).read_text())
    settings["enabled"] = True
    settings["communities"] = [{"community": "lean-imports", "allowed_networks": ["127.0.0.1"]}]
    config = tmp_path / "agent.json"
    config.write_text(json.dumps(settings))
    doc, top = modules_after_start(AGENT_STARTED, "--config", str(config),
                                   "--state-dir", str(tmp_path), "--listen", "127.0.0.1:0")
    assert doc["listening"], "the agent did not listen"
    # pysnmp's value types it needs; nothing else heavy
    assert not top & (HEAVY - {"pysnmp", "jinja2", "pydantic"}), sorted(top & HEAVY)
    # communities only: v2c is the fast path's, so no engine, USM or cryptography (issue 14)
    engine = [m for m in doc["modules"] if m.startswith(("pysnmp.entity", "pysnmp.carrier",
                                                         "pysnmp.proto.secmod"))]
    assert not engine and "cryptography" not in top, (engine, "cryptography" in top)


def test_the_snmp_agent_serves_without_the_template_engine(applied: Path, tmp_path: Path):
    from appliance.snmp.paths import AGENT_FILE

    settings = json.loads((applied / "etc" / AGENT_FILE).read_text())
    settings["enabled"] = True
    settings["communities"] = [{"community": "lean-imports", "allowed_networks": ["127.0.0.1"]}]
    config = tmp_path / "agent.json"
    config.write_text(json.dumps(settings))
    _doc, top = modules_after_start(AGENT_STARTED, "--config", str(config),
                                    "--state-dir", str(tmp_path), "--listen", "127.0.0.1:0")
    assert not top & {"jinja2", "pydantic"}, sorted(top & {"jinja2", "pydantic"})


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


@pytest.mark.parametrize(("validators", "bind"), [
    ([{"host": "127.0.0.1", "port": 3323}], "127.0.0.1:3323"),
    ([{"host": "rtr.example.net", "port": 8282}, {"host": "::1", "port": 3324}], "[::1]:3324"),
    ([{"host": "localhost", "port": 3325}], "127.0.0.1:3325"),
    ([{"host": "192.0.2.30", "port": 3323}], None),
    ([], None),
])
def test_run_bird_finds_stayrtrs_address_in_the_rendered_file(validators, bind):
    # ``run bird`` reads it from bird.conf instead of parsing the model: both must agree
    from appliance.route_server.bogons import load_bogons
    from appliance.route_server.render import render_bird
    from appliance.route_server.rpki_service import local_validator, local_validator_in_conf
    from tests.dns.variants import example_data, load

    data = example_data()
    data["route_server"]["rpki_validators"] = validators
    cfg = load(data)
    assert local_validator(cfg) == bind
    assert local_validator_in_conf(render_bird(cfg, load_bogons())) == bind


def test_run_web_serves_without_pyroute2_cryptography_or_markdown(applied: Path):
    # the NIC list (wizard), the backup's cipher and the guide's renderer load when used
    doc, top = modules_after_start(AFTER_START, "run", "web", "--state-dir", str(applied),
                                   "--listen", "127.0.0.1:0")
    assert doc["name"] == "web"
    assert "flask" in top  # it did start the web UI
    assert not top & {"pyroute2", "cryptography", "markdown"}, \
        sorted(top & {"pyroute2", "cryptography", "markdown"})


# What the collector's alert round reads in a lab namespace: the hygiene drops (through the
# bridge's counters module) and, to deliver, the channels; neither may bring the model,
# pyroute2 (a namespace's existence is a file) or the mail and HTTP clients.
ALERT_ROUND_READERS = """
import json, sys
from appliance.alerts import channels
from appliance.bridge import status
from appliance.platform import netns
assert netns.exists("ixp-lean-imports-none") is False
print(json.dumps(sorted(sys.modules)))
"""


def test_the_alert_rounds_readers_load_neither_the_model_nor_pyroute2_nor_mail():
    proc = subprocess.run([sys.executable, "-c", ALERT_ROUND_READERS], capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    modules = set(json.loads(proc.stdout))
    top = {m.split(".")[0] for m in modules}
    unwanted = {"pydantic", "pyroute2", "smtplib", "ssl", "jinja2", "yaml"}
    assert not top & unwanted, sorted(top & unwanted)
    # urllib.parse is everyone's (pathlib); its HTTP client is not
    assert not modules & {"urllib.request", "http.client", "email.message"}
