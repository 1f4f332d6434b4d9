"""The management plane: what is rendered, what a trial does, and what is applied where.

The host side runs against a scratch root with the system tools recorded (the real tools run
on the image, in tests/image); the pipeline, trial records and revert are the real ones.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from appliance.cli.management_cmds import revert_unconfirmed
from appliance.config.errors import ConfigError
from appliance.config.loader import config_from_data, load_config_text
from appliance.management import trial
from appliance.management.concern import ManagementConcern
from appliance.management.host import NETWORK, TIMESYNCD, Host
from appliance.management.render import address_plan, render_network, render_timesyncd
from appliance.pipeline.concern import ApplyContext
from appliance.pipeline.core import CoreConcern
from appliance.pipeline.run import Pipeline
from appliance.platform.target import Target

BASE = {
    "identity": {"name": "Test IX", "short_name": "TIX", "country": "FJ",
                 "contact_email": "noc@tix.example.net"},
    "peering_lan": {"ipv4_prefix": "203.0.113.0/24"},
    "route_server": {"asn": 65000, "ipv4": "203.0.113.1", "router_id": "203.0.113.1"},
    "lab": True,
}


def cfg_with(**management):
    """A config whose management section is ``management``."""
    return config_from_data({**BASE, "management": {"interface": "ens3", **management}})


class FakeSystem:
    """Records the tools the concern runs and does what they would to the scratch root."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.name = "ixp-appliance"
        self.calls: list[list[str]] = []
        (root / "sys/class/net/ens3").mkdir(parents=True)
        (root / "sys/class/net/ens4").mkdir(parents=True)
        (root / "etc").mkdir(exist_ok=True)
        (root / "etc/localtime").symlink_to("/usr/share/zoneinfo/Etc/UTC")

    def run(self, argv):
        self.calls.append(list(argv))
        if argv[:2] == ["hostnamectl", "set-hostname"]:
            self.name = argv[2]
        if argv[:2] == ["timedatectl", "set-timezone"]:
            link = self.root / "etc/localtime"
            link.unlink()
            link.symlink_to(f"/usr/share/zoneinfo/{argv[2]}")
        return ""

    def host(self) -> Host:
        return Host(root=self.root, run=self.run, gethostname=lambda: self.name)

    def tools(self) -> list[str]:
        return [c[0] + " " + c[1] for c in self.calls]


@pytest.fixture
def box(tmp_path: Path):
    system = FakeSystem(tmp_path / "root")
    state = tmp_path / "state"
    pipeline = Pipeline(state, concerns=[
        CoreConcern(), ManagementConcern(host=system.host(), on_image=lambda: True)])
    return system, pipeline


def test_render_dhcp_keeps_the_cable_fallback_and_takes_dns_from_dhcp():
    text = render_network(cfg_with().management)
    assert "Name=ens3" in text and "DHCP=ipv4" in text
    assert "Address=192.168.254.1/24" in text
    assert "UseDNS=yes" in text and "IPv6AcceptRA=yes" in text


def test_render_static_with_listed_dns_uses_only_those():
    mgmt = cfg_with(ipv4="10.9.0.5/24", ipv4_gateway="10.9.0.1", ipv6="2001:db8:9::5/64",
                    ipv6_gateway="fe80::1", dns=["10.9.0.53"]).management
    text = render_network(mgmt)
    assert "DHCP=" not in text
    assert "Address=10.9.0.5/24\nGateway=10.9.0.1" in text
    assert "Address=2001:db8:9::5/64\nGateway=fe80::1" in text and "IPv6AcceptRA=no" in text
    assert "DNS=10.9.0.53" in text and "Address=192.168.254.1/24" in text
    # a static address inside the fallback's network replaces the fallback
    assert "192.168.254.1" not in render_network(cfg_with(ipv4="192.168.254.7/24").management)
    assert render_network(mgmt) == text  # pure: same input, same bytes


def test_render_ntp_has_no_hidden_fallback():
    text = render_timesyncd(cfg_with(ntp=["10.9.0.123", "ntp.example.net"]).management)
    assert "NTP=10.9.0.123 ntp.example.net\n" in text and "FallbackNTP=\n" in text


def test_bad_gateways_name_the_field():
    with pytest.raises(ConfigError) as err:
        cfg_with(ipv6="auto", ipv6_gateway="2001:db8::1")
    assert [i.path for i in err.value.issues] == ["management.ipv6_gateway"]
    with pytest.raises(ConfigError) as err:
        cfg_with(ipv6="2001:db8:9::5/64", ipv6_gateway="2001:db8:7::1")
    assert "neither in the management network" in err.value.issues[0].message
    with pytest.raises(ConfigError) as err:
        cfg_with(trial_seconds=5)
    assert err.value.issues[0].path == "management.trial_seconds"


def test_not_applied_outside_the_image(tmp_path: Path):
    system = FakeSystem(tmp_path / "root")
    concern = ManagementConcern(host=system.host(), on_image=lambda: False)
    outcome = Pipeline(tmp_path / "state", concerns=[CoreConcern(), concern]).run(
        cfg_with(hostname="rs9"), author="t")
    assert outcome.ok and system.calls == []
    assert not (system.root / NETWORK).exists()
    # nor in a lab namespace on the image
    on_image = ManagementConcern(host=system.host(), on_image=lambda: True)
    ctx = ApplyContext(Target(tmp_path / "state", "ixp-lab-x"))
    assert on_image.plan(cfg_with(hostname="rs9"), ctx) == []


def test_first_apply_on_dhcp_is_not_a_trial_and_a_reapply_changes_nothing(box):
    system, pipeline = box
    cfg = cfg_with(hostname="rs1.tix.example.net", ntp=["10.9.0.123"], timezone="Pacific/Fiji")
    outcome = pipeline.run(cfg, author="t")
    assert outcome.ok, outcome.error
    assert {c.target for c in outcome.changes if c.concern == "management" and not c.path} == {
        "host name", "management network", "NTP servers", "time zone"}
    assert system.name == "rs1.tix.example.net"
    assert (system.root / NETWORK).read_text() == render_network(cfg.management)
    assert "NTP=10.9.0.123" in (system.root / TIMESYNCD).read_text()
    assert "networkctl reconfigure" in system.tools()
    assert trial.pending(pipeline.state_dir) is None
    assert trial.confirmed(pipeline.state_dir) == address_plan(cfg.management)
    system.calls.clear()
    again = pipeline.run(cfg, author="t")
    assert again.ok and again.changes == [] and system.calls == []


def test_static_address_goes_on_trial_and_reverts_unless_confirmed(box):
    system, pipeline = box
    assert pipeline.run(cfg_with(hostname="rs1"), author="t").ok
    system.calls.clear()
    static = cfg_with(hostname="rs1", ipv4="10.0.2.20/24", ipv4_gateway="10.0.2.2",
                      trial_seconds=60)
    outcome = pipeline.run(static, author="admin")
    assert outcome.ok, outcome.error
    notice = next(c.notice for c in outcome.changes if c.target == "management network")
    assert "ON TRIAL" in notice and "https://10.0.2.20/management" in notice
    assert "within 60 s" in notice
    pending = trial.pending(pipeline.state_dir)
    assert pending is not None and pending.new == address_plan(static.management)
    assert 55 <= pending.seconds_left() <= 60
    timer = next(c for c in system.calls if c[0] == "systemd-run")
    assert "--on-active=60s" in timer and pending.id in timer
    assert pending.confirm_urls() == ["https://10.0.2.20/management"]

    # a confirmation through the old address proves nothing: refused, the trial goes on
    with pytest.raises(trial.TrialError, match="confirm from the new address"):
        trial.confirm(pipeline.state_dir, "10.0.2.15")
    assert trial.pending(pipeline.state_dir) is not None

    # the timer fires: the confirmed DHCP comes back, the host name stays
    reverted = revert_unconfirmed(pipeline, pending.id)
    assert reverted is not None and reverted.ok, reverted and reverted.error
    running = load_config_text(pipeline.store.latest().config)
    assert str(running.management.ipv4) == "dhcp" and running.management.hostname == "rs1"
    assert "not confirmed" in pipeline.store.latest().comment
    assert "DHCP=ipv4" in (system.root / NETWORK).read_text()
    assert trial.pending(pipeline.state_dir) is None
    # a late timer of that trial does nothing
    assert revert_unconfirmed(pipeline, pending.id) is None


def test_confirmed_from_the_new_address_is_kept(box):
    system, pipeline = box
    assert pipeline.run(cfg_with(), author="t").ok
    assert pipeline.run(cfg_with(ipv4="10.0.2.20/24"), author="t").ok
    first = trial.pending(pipeline.state_dir)
    # a second change during the trial replaces it; the way back stays the confirmed one
    moved = cfg_with(ipv4="10.0.2.21/24", interface="ens4")
    assert pipeline.run(moved, author="t").ok
    second = trial.pending(pipeline.state_dir)
    assert second.id != first.id and second.previous == first.previous
    assert ["systemctl", "stop", f"ixp-mgmt-trial-{first.id}.timer"] in system.calls
    assert ["networkctl", "reconfigure", "ens4"] in system.calls
    kept = trial.confirm(pipeline.state_dir, "::ffff:10.0.2.21")
    assert kept.id == second.id and trial.pending(pipeline.state_dir) is None
    assert trial.confirmed(pipeline.state_dir) == address_plan(moved.management)
    assert revert_unconfirmed(pipeline, second.id) is None
    assert "Address=10.0.2.21/24" in (system.root / NETWORK).read_text()


def test_a_bad_time_zone_is_refused_before_anything_changes(box, tmp_path: Path):
    system, _ = box
    zones = tmp_path / "zoneinfo"
    (zones / "Pacific").mkdir(parents=True)
    (zones / "Pacific/Fiji").write_text("TZif")
    concern = ManagementConcern(host=system.host(), on_image=lambda: True, zoneinfo=zones)
    pipeline = Pipeline(tmp_path / "s2", concerns=[CoreConcern(), concern])
    # the model knows Europe/Paris, this box's zone database does not
    outcome = pipeline.run(cfg_with(timezone="Europe/Paris"), author="t")
    assert not outcome.ok and outcome.stage == "verify"
    assert "management.timezone" in outcome.error and system.calls == []
    assert pipeline.run(cfg_with(timezone="Pacific/Fiji"), author="t").ok


def test_cli_status_and_confirm(box, capsys):
    from appliance.cli import management_cmds
    _, pipeline = box
    assert pipeline.run(cfg_with(), author="t").ok
    assert pipeline.run(cfg_with(ipv4="10.0.2.20/24"), author="t").ok
    args = argparse.Namespace(state_dir=pipeline.state_dir, reached_at="10.0.2.15")
    assert management_cmds.cmd_confirm(args) == 1
    assert "https://10.0.2.20/management" in capsys.readouterr().err
    args.reached_at = "10.0.2.20"
    assert management_cmds.cmd_confirm(args) == 0
    assert "confirmed: ens3: 10.0.2.20/24" in capsys.readouterr().out
    assert management_cmds.cmd_status(argparse.Namespace(state_dir=pipeline.state_dir,
                                                         json=False)) == 0
    out = capsys.readouterr().out
    assert "Configured: ixp-rs1, ens3: 10.0.2.20/24" in out and "ON TRIAL" not in out
