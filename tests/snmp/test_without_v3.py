"""An agent with communities only serves v2c without pysnmp's engine, and takes it up on a
reload that adds an SNMPv3 user (issue 14: the engine, USM and cryptography cost some 10 MiB).

Real agent processes in the test's namespaces, asked by net-snmp's tools.
"""

from __future__ import annotations

import json
import signal
import time

import pytest

from tests.snmp.snmplab import V3, lab_config, parse_lines, running_lab

pytestmark = [pytest.mark.netns]
ENGINE = "1.3.6.1.6.3.10.2.1"


def _v2c_only():
    cfg = lab_config()
    return cfg.model_copy(update={"snmp": cfg.snmp.model_copy(update={"users": []})})


def _wait(probe, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe():
            return
        time.sleep(0.3)
    pytest.fail(f"{what} within {timeout:.0f} s")


def test_v2c_only_serves_the_engine_objects_and_refuses_v3(tool, tmp_path):
    tool("snmpwalk", "snmp")
    with running_lab(tmp_path, _v2c_only()) as lab:
        r = lab.v2c("snmpwalk", ENGINE)
        assert r.returncode == 0, r.stderr
        got = parse_lines(r.stdout)
        saved = json.loads((tmp_path / "snmp" / "engine.json").read_text())
        engine_id = got[f".{ENGINE}.1.0"]
        assert engine_id[0] == "Hex-STRING"
        assert engine_id[1].replace(" ", "").lower() == saved["engine_id"]
        assert got[f".{ENGINE}.2.0"] == ("INTEGER", str(saved["boots"]))
        assert got[f".{ENGINE}.3.0"][0] == "INTEGER" and int(got[f".{ENGINE}.3.0"][1]) >= 0
        assert got[f".{ENGINE}.4.0"] == ("INTEGER", "65507")
        # no user exists: neither discovery nor a named user gets an answer, and it is said
        r = lab.v3("snmpget", "1.3.6.1.2.1.1.5.0")
        assert r.returncode != 0 and "Timeout" in (r.stderr + r.stdout), r
        assert "SNMPv3 discovery from an address no user may poll from" in lab.log()
        # the same v2c answers as ever
        r = lab.v2c("snmpget", "1.3.6.1.2.1.1.5.0")
        assert r.returncode == 0 and "STRING" in r.stdout, r.stderr


def test_a_reload_that_adds_a_v3_user_starts_pysnmps_engine(tool, tmp_path):
    tool("snmpget", "snmp")
    with running_lab(tmp_path, _v2c_only()) as lab:
        assert lab.v3("snmpget", "1.3.6.1.2.1.1.5.0").returncode != 0
        cfg = lab_config()
        lab.write_config(cfg.model_copy(update={"snmp": cfg.snmp.model_copy(
            update={"users": [cfg.snmp.users[0]]})}))
        assert cfg.snmp.users[0].name == V3["name"]
        assert lab.proc is not None
        lab.proc.send_signal(signal.SIGHUP)
        _wait(lambda: lab.v3("snmpget", "1.3.6.1.2.1.1.5.0").returncode == 0,
              "SNMPv3 did not answer after the reload")
        assert lab.v2c("snmpget", "1.3.6.1.2.1.1.5.0").returncode == 0
        # and back: the user removed, v3 goes, v2c stays
        lab.write_config(_v2c_only())
        lab.proc.send_signal(signal.SIGHUP)
        _wait(lambda: lab.v3("snmpget", "1.3.6.1.2.1.1.5.0").returncode != 0,
              "SNMPv3 still answered after its user was removed")
        _wait(lambda: lab.v2c("snmpget", "1.3.6.1.2.1.1.5.0").returncode == 0,
              "v2c did not answer after the reload")
