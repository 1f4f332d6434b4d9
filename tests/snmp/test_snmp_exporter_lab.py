"""Prometheus' snmp_exporter (Debian's prometheus-snmp-exporter) with the documented module
(examples/snmp_exporter/snmp.yml, or snmp-0.21.yml for an exporter before 0.23 as Debian 12's)
and scrape configuration (docs/monitoring.md), scraping the agent of the BGP lab over loopback
inside the lab's own namespace: real metrics come back."""

from __future__ import annotations

import ipaddress
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from appliance.platform import netns
from tests.snmp import birdlab
from tests.snmp.snmplab import COMMUNITY, PORT, V3, kernel_stats, ns_run
from tests.snmp.test_bgp_lab import bgp_lab  # noqa: F401 (the fixture)

pytestmark = [pytest.mark.netns, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
MODULE_FILE = ROOT / "examples" / "snmp_exporter" / "snmp.yml"  # snmp_exporter 0.23 and later
OLD_MODULE_FILE = MODULE_FILE.with_name("snmp-0.21.yml")  # before 0.23 (credentials in modules)
DOCS = ROOT / "docs" / "monitoring.md"
EXPORTER = "prometheus-snmp-exporter"
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$")
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def _scrape_config() -> dict:
    blocks = re.findall(r"```yaml\n(.*?)```", DOCS.read_text(), flags=re.S)
    found = [yaml.safe_load(b) for b in blocks if "metrics_path: /snmp" in b]
    assert len(found) == 1, "docs/monitoring.md: one snmp_exporter scrape config expected"
    return found[0]["scrape_configs"][0]


def _relabel(job: dict, target: str) -> dict[str, str]:
    """Prometheus' target labels for ``target`` after the job's relabel_configs (the
    replace action, which is all the documented config uses)."""
    labels = {"__address__": target, "__metrics_path__": job["metrics_path"],
              **{f"__param_{k}": v[0] for k, v in job.get("params", {}).items()}}
    for rule in job["relabel_configs"]:
        assert rule.get("action", "replace") == "replace", rule
        value = rule.get("separator", ";").join(labels.get(s, "")
                                                for s in rule.get("source_labels", []))
        m = re.fullmatch(rule.get("regex", "(.*)"), value)
        if m:
            labels[rule["target_label"]] = m.expand(
                rule.get("replacement", "$1").replace("$1", r"\1"))
    return labels


def _samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    out = []
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        m = SAMPLE.match(line)
        assert m, line
        out.append((m.group(1), dict(LABEL.findall(m.group(2) or "")), float(m.group(3))))
    return out


def _exporter() -> tuple[str, tuple[int, ...]]:
    """The host's exporter and its version (Debian 12: 0.21, Debian 13: 0.28)."""
    exporter = shutil.which(EXPORTER)
    if exporter is None:
        pytest.fail(f"{EXPORTER} is missing: install the Debian package {EXPORTER} (dev.sh)")
    out = subprocess.run([exporter, "--version"], capture_output=True, text=True, timeout=30)
    m = re.search(r"version (\d+)\.(\d+)", out.stdout + out.stderr)
    assert m, out.stdout + out.stderr
    return exporter, (int(m.group(1)), int(m.group(2)))


def _old_format(version: tuple[int, ...]) -> bool:
    return version < (0, 23)


def _scrapes(version: tuple[int, ...]) -> list[dict[str, str]]:
    """The query parameters of each documented way to scrape: v2c and v3."""
    if _old_format(version):
        # the documented params as they are: an exporter before 0.23 ignores "auth"
        return [{"module": "ixp_appliance", "auth": "ixp_v2c"}, {"module": "ixp_appliance_v3"}]
    return [{"module": "ixp_appliance", "auth": "ixp_v2c"},
            {"module": "ixp_appliance", "auth": "ixp_v3"}]


def _module_file(workdir: Path, version: tuple[int, ...]) -> Path:
    # the shipped file for this exporter, with only its placeholders set to the lab's
    # credentials
    text = (OLD_MODULE_FILE if _old_format(version) else MODULE_FILE).read_text()
    for placeholder, value in (("change-this-community", COMMUNITY),
                               ("change-this-user", V3["name"]),
                               ("change-this-auth-password", V3["auth_password"]),
                               ("change-this-priv-password", V3["priv_password"])):
        assert placeholder in text, placeholder
        text = text.replace(placeholder, value)
    path = workdir / "snmp.yml"
    path.write_text(text)
    return path


def test_documented_module_and_scrape_config_fit(tmp_path):
    new = yaml.safe_load(MODULE_FILE.read_text())
    old = yaml.safe_load(OLD_MODULE_FILE.read_text())
    assert sorted(new) == ["auths", "modules"] and sorted(new["modules"]) == ["ixp_appliance"]
    assert sorted(new["auths"]) == ["ixp_v2c", "ixp_v3"]
    assert sorted(old) == ["ixp_appliance", "ixp_appliance_v3"]
    # what the agent accepts: authPriv, SHA-256 or better, AES-128 (snmp.users)
    v3, old_v3 = new["auths"]["ixp_v3"], old["ixp_appliance_v3"]
    assert (v3["version"], v3["security_level"], v3["auth_protocol"],
            v3["priv_protocol"]) == (3, "authPriv", "SHA256", "AES")
    assert (old_v3["version"], old_v3["auth"]) == (3, {k: v for k, v in v3.items()
                                                      if k != "version"})
    # the two files walk and name the same things
    for part in ("walk", "get", "metrics"):
        assert (new["modules"]["ixp_appliance"][part] == old["ixp_appliance"][part]
                == old_v3[part]), part
    job = _scrape_config()
    assert job["params"]["module"][0] == "ixp_appliance"
    assert job["params"]["auth"][0] in new["auths"]
    labels = _relabel(job, "rs1.eiix.example.net")
    assert labels["__param_target"] == labels["instance"] == "rs1.eiix.example.net"
    assert labels["__address__"] == "127.0.0.1:9116"
    exporter, version = _exporter()
    r = subprocess.run([exporter, f"--config.file={_module_file(tmp_path, version)}",
                        "--dry-run"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and "parsed successfully" in r.stderr, r.stderr


def test_exporter_scrapes_the_agent(bgp_lab, tmp_path):  # noqa: F811 (the fixture)
    exporter, version = _exporter()
    job = _scrape_config()
    # Prometheus' view: the box at the agent's lab port, the exporter where the docs put it
    labels = _relabel(job, f"127.0.0.1:{PORT}")
    address = labels["__address__"]
    log = (tmp_path / "exporter.log").open("wb")
    proc = subprocess.Popen(netns.command(bgp_lab.ixp, [
        exporter, f"--config.file={_module_file(tmp_path, version)}",
        f"--web.listen-address={address}"]), stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 20
        while ns_run(bgp_lab.ixp, "curl", "-sf", "-o", "/dev/null", f"http://{address}/",
                     check=False).returncode != 0:
            assert proc.poll() is None and time.monotonic() < deadline, \
                (tmp_path / "exporter.log").read_text()
            time.sleep(0.2)
        birdlab.wait_established(bgp_lab.bird_socket, ["as64496_v4", "as64496_v6"])
        for params in _scrapes(version):
            module = " ".join(params.values())
            before = kernel_stats(bgp_lab.ixp, "ixp1")["rx"]["bytes"]
            query = "&".join(f"{k}={v}" for k, v in
                             {**params, "target": labels["__param_target"]}.items())
            url = f"http://{address}{labels['__metrics_path__']}?{query}"
            r = ns_run(bgp_lab.ixp, "curl", "-sf", url, check=False)
            after = kernel_stats(bgp_lab.ixp, "ixp1")["rx"]["bytes"]
            assert r.returncode == 0, (tmp_path / "exporter.log").read_text()
            samples = _samples(r.stdout)
            by_name: dict[str, list[tuple[dict[str, str], float]]] = {}
            for name, lab_labels, value in samples:
                by_name.setdefault(name, []).append((lab_labels, value))
            assert by_name["snmp_scrape_pdus_returned"][0][1] > 20, module
            # the member port, named and described as the member list says
            port = [(lb, v) for lb, v in by_name["ifHCInOctets"] if lb["ifName"] == "ixp1"]
            assert len(port) == 1, by_name["ifHCInOctets"]
            lb, value = port[0]
            assert lb["ifAlias"] == "AS64496 Island Telecom", lb
            assert before - 10_000 <= value <= after, (before, value, after)
            for name in ("ifHCOutOctets", "ifHCInUcastPkts", "ifHighSpeed", "ifOperStatus",
                         "ifInErrors"):
                assert any(lb["ifName"] == "ixp1" for lb, _ in by_name[name]), name
            assert [v for lb, v in by_name["ifOperStatus"] if lb["ifName"] == "ixp1"] == [1]
            # the sessions: up, by address and AS, IPv6 through BGP4V2
            state = {lb["bgpPeerRemoteAddr"]: (lb["bgpPeerRemoteAs"], v)
                     for lb, v in by_name["bgpPeerState"]}
            assert state[birdlab.MEMBER_V4] == ("64496", 6), state
            assert state["203.0.113.12"][1] != 6  # the disabled session
            v2 = {str(ipaddress.ip_address(lb["bgp4V2PeerRemoteAddr"])):
                  (lb["bgp4V2PeerRemoteAs"], v) for lb, v in by_name["bgp4V2PeerState"]}
            assert any(lb["bgp4V2PeerDescription"] == "Island Telecom"
                       for lb, _ in by_name["bgp4V2PeerState"])
            assert v2[birdlab.MEMBER_V6] == ("64496", 6), v2
            assert v2[birdlab.MEMBER_V4] == ("64496", 6), v2
            assert any(v > 0 for lb, v in by_name["bgpPeerInUpdates"]
                       if lb["bgpPeerRemoteAddr"] == birdlab.MEMBER_V4)
            assert by_name["sysUpTime"][0][1] > 0
    finally:
        birdlab.stop(proc)  # any process we started, by its PID
