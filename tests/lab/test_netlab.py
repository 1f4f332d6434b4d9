"""The lab kit's namespace harness (labkit.netlab): what it wires, and that its teardown removes
everything it made even when the test, or a step of the teardown itself, fails."""

from __future__ import annotations

import json

import pytest

from appliance.platform import netns
from labkit.netlab import NetLab, session, sh

pytestmark = pytest.mark.netns


def _links(ns: str) -> dict[str, dict]:
    return {link["ifname"]: link for link in json.loads(sh(ns, "ip", "-j", "addr"))}


def _build(lab: NetLab) -> tuple[str, object]:
    app = lab.namespace("app", quiet=True)
    sh(app, "ip", "link", "add", "br0", "type", "bridge")
    host = lab.add_host("h1", into=app, port="p1", mac="02:00:5e:10:00:01", bridge="br0",
                        addrs=["192.0.2.2/24", "2001:db8::2/64"])
    return app, host


def test_a_host_is_wired_to_its_port_and_a_failed_test_leaves_nothing(root_required,
                                                                       tmp_path):
    ran: list[str] = []
    with pytest.raises(RuntimeError, match="the test failed"), \
            session(tmp_path, "ixt") as lab:
        app, host = _build(lab)
        mine = _links(host.ns)["eth0"]
        assert mine["address"] == "02:00:5e:10:00:01" and "UP" in mine["flags"]
        assert {(a["local"], a["prefixlen"]) for a in mine["addr_info"]
                if a["scope"] == "global"} == {("192.0.2.2", 24), ("2001:db8::2", 64)}
        assert (host.ipv4, host.ipv6) == ("192.0.2.2", "2001:db8::2")
        port = _links(app)["p1"]
        assert port["master"] == "br0" and "UP" in port["flags"]
        proc = lab.spawn(host.ns, ["sleep", "300"])
        lab.on_close(lambda: ran.append("clean-up"))
        assert sorted(netns.list_with_prefix(lab.prefix)) == sorted([app, host.ns])
        raise RuntimeError("the test failed")
    assert ran == ["clean-up"]
    assert proc.poll() is not None, "the daemon the lab started must be stopped"
    assert netns.list_with_prefix(lab.prefix) == []


def test_a_failing_clean_up_does_not_stop_the_teardown(root_required, tmp_path):
    lab = session(tmp_path, "ixt")
    with pytest.raises(ZeroDivisionError), lab as made:
        _app, host = _build(made)
        proc = made.spawn(host.ns, ["sleep", "300"])
        made.on_close(lambda: 1 / 0)
    # the clean-up's error is raised, after every other step of the teardown ran
    assert proc.poll() is not None
    assert netns.list_with_prefix(made.prefix) == []


def test_the_demo_lab_of_a_configuration_goes_with_the_lab(root_required, tmp_path,
                                                          example_text):
    from appliance.config.loader import load_config_text
    from appliance.lab.lab import LabState

    cfg = load_config_text(example_text)
    with session(tmp_path / "nodes", "ixt") as lab:
        state = lab.config_lab(cfg, tmp_path)
        assert state.prefix == lab.prefix and state.appliance_netns == f"{lab.prefix}-ixp"
        assert len(state.members) == len(cfg.members)
        assert all(m.pid for m in state.members), "each member router runs its BIRD"
    assert LabState.load(tmp_path) is None, "lab_down ran: lab.json is gone"
    assert netns.list_with_prefix(lab.prefix) == []
