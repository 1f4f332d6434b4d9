"""The firewall concern in the real pipeline, in a namespace: idempotent apply that keeps the
counters, reload in place on a change, reload on drift, verify failures that leave the running
table alone, removal that touches only our table, and the lockout refusal on the image's host
path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import fwlab as fl
import pytest
import yaml

from appliance.config.loader import config_from_data
from appliance.config.model import IXPConfig
from appliance.firewall import nft
from appliance.firewall.concern import FirewallConcern
from appliance.firewall.render import REASONS, render_firewall
from appliance.firewall.status import drops_by_reason, read_drops
from appliance.pipeline.concern import RenderedFile
from appliance.platform import netns as labns
from appliance.platform.target import Target
from labkit.netlab import veth

# These calls only read or change the namespace: no state directory is involved.
NO_STATE = Path("/nonexistent")

pytestmark = pytest.mark.netns


@pytest.fixture
def topo(netlab):
    """A fresh topology per test (no listeners: dropped probes need none)."""
    return fl.build(netlab)


def _poke_lan_mgmt(t: fl.Topology) -> None:
    """Make the lan_mgmt counter move: SSH from a member, which is dropped."""
    assert fl.probe(t.m1, [("tcp", fl.RS4, 22, None)]) == {("tcp", fl.RS4, 22, None): "timeout"}


def test_second_apply_changes_nothing_and_keeps_the_counters(topo, tmp_path):
    concern = FirewallConcern()
    data = fl.config_data()
    out = fl.apply(tmp_path, topo.app, data, concern)
    assert out.ok, out.error
    assert [str(c) for c in out.changes if c.concern == "firewall"] == [
        "+ [firewall] file nft/mgmt-firewall.nft",
        "+ [firewall] nft table inet ixp_mgmt (management-plane firewall)"]
    assert concern.last_action == "loaded"
    _poke_lan_mgmt(topo)
    moved = drops_by_reason(Target(NO_STATE, topo.app))["lan_mgmt"]
    assert moved >= 1
    listing = nft.list_table(Target(tmp_path, topo.app))

    again = fl.apply(tmp_path, topo.app, data, concern)
    assert again.ok and again.changes == [] and "nothing to change" in again.message

    # another part of the configuration changes: the pipeline calls every concern's apply,
    # and ours must still load nothing (a reload would reset the counters)
    data["identity"]["city"] = "Example Town"
    other = fl.apply(tmp_path, topo.app, data, concern)
    assert other.ok, other.error
    assert [c for c in other.changes if c.concern == "firewall"] == []
    assert concern.last_action is None
    assert nft.list_table(Target(tmp_path, topo.app)) == listing
    assert drops_by_reason(Target(NO_STATE, topo.app))["lan_mgmt"] == moved


def test_a_ruleset_change_reloads_atomically(topo, tmp_path):
    concern = FirewallConcern()
    assert fl.apply(tmp_path, topo.app, fl.config_data(), concern).ok
    _poke_lan_mgmt(topo)
    data = fl.config_data()
    data["members"][1]["route_server"] = True  # m2 may now open BGP
    out = fl.apply(tmp_path, topo.app, data, concern)
    assert out.ok, out.error
    assert ("~ [firewall] nft table inet ixp_mgmt (reload in place, atomic (drop counters "
            "kept))") in map(str, out.changes)
    assert concern.last_action == "loaded" and concern.last_in_place
    assert fl.M2_4 in (nft.list_table(Target(tmp_path, topo.app)) or "")
    # loaded in place: the counters keep counting (test_counters_kept.py checks it closely)
    assert drops_by_reason(Target(NO_STATE, topo.app))["lan_mgmt"] >= 1


def test_drift_is_repaired(topo, tmp_path):
    concern = FirewallConcern()
    data = fl.config_data()
    assert fl.apply(tmp_path, topo.app, data, concern).ok
    # someone removed the table by hand: the next apply of the same revision loads it again
    labns.run(topo.app, ["nft", "delete", "table", "inet", "ixp_mgmt"])
    out = fl.apply(tmp_path, topo.app, data, concern)
    assert out.ok and concern.last_action == "loaded"
    assert "+ [firewall] nft table inet ixp_mgmt (management-plane firewall)" in map(
        str, out.changes)
    # an older rendering is running (another state dir, a failed load): replaced
    older = tmp_path / "older.nft"
    old = fl.config_data()
    old["members"] = []
    older.write_text(render_firewall(config_from_data(old)))
    labns.run(topo.app, ["nft", "-f", str(older)])
    out = fl.apply(tmp_path, topo.app, data, concern)
    assert out.ok and concern.last_action == "loaded"
    assert fl.M1_4 in (nft.list_table(Target(tmp_path, topo.app)) or "")


class BrokenFirewall(FirewallConcern):
    """Renders a ruleset nft refuses (as a template bug would)."""

    def render(self, cfg: IXPConfig) -> list[RenderedFile]:
        """The real rendering with one impossible rule."""
        (f,) = super().render(cfg)
        text = f.content.decode().replace("tcp dport 179 accept", "tcp dport 179 acept", 1)
        return [RenderedFile(f.path, text.encode())]


def test_a_verify_failure_leaves_the_running_table_untouched(topo, tmp_path):
    assert fl.apply(tmp_path, topo.app, fl.config_data()).ok
    _poke_lan_mgmt(topo)
    before = nft.list_table(Target(tmp_path, topo.app))
    installed = (tmp_path / "etc" / "nft" / "mgmt-firewall.nft").read_bytes()
    data = fl.config_data(allowed=["198.18.0.0/24"])
    out = fl.apply(tmp_path, topo.app, data, BrokenFirewall())
    assert not out.ok and out.stage == "verify" and "acept" in (out.error or "")
    assert nft.list_table(Target(tmp_path, topo.app)) == before  # rules and counters as they were
    assert (tmp_path / "etc" / "nft" / "mgmt-firewall.nft").read_bytes() == installed


def test_turning_the_firewall_off_removes_only_our_table(topo, tmp_path):
    other = tmp_path / "other.nft"
    other.write_text("table inet someone_else {\n\tchain input {\n\t\ttype filter hook input "
                     "priority 10; policy accept;\n\t}\n}\n")
    labns.run(topo.app, ["nft", "-f", str(other)])
    concern = FirewallConcern()
    assert fl.apply(tmp_path, topo.app, fl.config_data(), concern).ok
    out = fl.apply(tmp_path, topo.app, fl.config_data(firewall=False), concern)
    assert out.ok, out.error
    assert {str(c) for c in out.changes if c.concern == "firewall"} == {
        "- [firewall] file nft/mgmt-firewall.nft",
        "- [firewall] nft table inet ixp_mgmt (management.firewall is false)"}
    assert concern.last_action == "removed" and not nft.table_loaded(Target(tmp_path, topo.app))
    assert not (tmp_path / "etc" / "nft" / "mgmt-firewall.nft").exists()
    tables = labns.run(topo.app, ["nft", "list", "tables"]).stdout
    assert "table inet someone_else" in tables
    assert read_drops(Target(tmp_path, topo.app)) == []
    # and back on
    assert fl.apply(tmp_path, topo.app, fl.config_data(), concern).ok
    assert [d.reason for d in read_drops(Target(tmp_path, topo.app))] == list(REASONS)


# The image's host path (netns None), run inside a namespace of ours standing in for "the
# host": IXP_ALLOW_HOST_NETWORK makes ApplyContext treat it as a system, and the script first
# checks that it is not in the test's own namespace, so a mistake can never reach the host.
_HOST_SCRIPT = textwrap.dedent("""
    import json, os, sys
    assert os.readlink("/proc/self/ns/net") != sys.argv[2], "still in the caller's netns"
    from appliance.pipeline.core import CoreConcern
    from appliance.firewall.concern import FirewallConcern
    from appliance.pipeline.run import Pipeline
    pipe = Pipeline(sys.argv[1], concerns=[CoreConcern(), FirewallConcern()])
    out = pipe.run(sys.stdin.read(), author="test")
    print(json.dumps({"ok": out.ok, "stage": out.stage, "error": out.error}))
""")


def _as_host(ns: str, state: Path, data: dict) -> dict:
    env = {**os.environ, "IXP_ALLOW_HOST_NETWORK": "1"}
    proc = subprocess.run(labns.command(ns, [sys.executable, "-c", _HOST_SCRIPT, str(state),
                                          os.readlink("/proc/self/ns/net")]),
                          input=yaml.safe_dump(data), capture_output=True, text=True,
                          timeout=60, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_on_a_host_without_the_management_nic_nothing_is_loaded(ns_factory, tmp_path):
    host = ns_factory("host")
    out = _as_host(host, tmp_path, fl.config_data())
    assert out["ok"] is False and out["stage"] == "plan", out
    assert out["error"].startswith("management.interface: interface mgmt0 does not exist")
    assert "management.firewall to false" in out["error"]
    assert labns.run(host, ["nft", "list", "tables"]).stdout.strip() == ""
    # with the NIC present the same configuration loads
    veth(host, "mgmt0", "mgmt0p", up=False)
    out = _as_host(host, tmp_path, fl.config_data())
    assert out["ok"] is True, out
    assert nft.table_loaded(Target(tmp_path, host))
