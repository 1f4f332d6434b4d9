"""Firmware updates without a box: the bundle checks, the health verdict, the gate's decisions,
RAUC's status, and the route server's drain in the rendered BIRD configuration."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from appliance.config.loader import load_config_text
from appliance.firmware import bundle, gate, health, rauc, records
from appliance.firmware.bundle import BundleInfo, refusals
from appliance.platform import shipped
from appliance.route_server import drain
from appliance.route_server.bogons import load_bogons
from appliance.route_server.concern import RouteServerConcern
from appliance.route_server.render import render_bird

INFO = BundleInfo(version="0.1.1", compatible="ixp-appliance-x86_64", schema=1,
                  notes="fixes", image_bytes=600 * 1048576)


def check(info: BundleInfo = INFO, **kw) -> list[str]:
    args = {"running_version": "0.1.0", "data_schema": 1, "allow_downgrade": False,
            "slot_bytes": 960 * 1048576, **kw}
    return refusals(info, **args)


def test_a_newer_compatible_bundle_may_be_installed():
    assert check() == []


@pytest.mark.parametrize(("change", "kw", "words"), [
    ({"compatible": "other-box"}, {}, "not for this box"),
    ({"schema": None}, {}, "does not say which configuration schema"),
    ({"schema": 1}, {"data_schema": 2}, "could not read it"),
    ({"version": "0.0.9"}, {}, "older than the running 0.1.0"),
    ({"version": "0.1.0"}, {}, "is the version this box runs"),
    ({"image_bytes": 2000 * 1048576}, {}, "the other system slot holds 960 MiB"),
])
def test_refusals_say_why(change, kw, words):
    reasons = check(BundleInfo(**{**INFO.__dict__, **change}), **kw)
    assert len(reasons) == 1 and words in reasons[0], reasons


def test_downgrade_only_with_the_flag():
    older = BundleInfo(**{**INFO.__dict__, "version": "0.0.9"})
    assert check(older, allow_downgrade=True) == []


@pytest.mark.parametrize(("new", "old"), [("0.1.1", "0.1.0"), ("0.10.0", "0.9.9"),
                                          ("1.0.0", "1.0.0rc1"), ("1.0.1", "1.0")])
def test_versions_compare_as_numbers(new, old):
    assert bundle.is_newer(new, old) and not bundle.is_newer(old, new)


def test_manifest_fields_are_read():
    info = bundle.from_manifest({
        "compatible": "ixp-appliance-x86_64", "version": "0.2.0", "description": "notes",
        "build": "config-schema=3", "images": [{"rootfs": {"size": 1234}}]})
    assert (info.version, info.schema, info.notes, info.image_bytes) == ("0.2.0", 3, "notes", 1234)


def test_health_needs_half_of_the_sessions_and_lists_the_others():
    before = ["a", "b", "c", "d"]
    obs = health.Observation(revision=None, established=frozenset({"a", "b"}), resolver=None,
                             web=None)
    verdict = health.evaluate(obs, before)
    assert verdict.healthy and verdict.still_down == ("c", "d")
    one = health.evaluate(health.Observation(None, frozenset({"a"}), None, None), before)
    assert not one.healthy and "only 1 of the 4" in one.reason
    assert health.sessions_needed(1) == 1 and health.sessions_needed(3) == 2
    assert health.evaluate(health.Observation(None, frozenset(), None, None), []).healthy


def test_health_counts_web_resolver_and_revision():
    obs = health.Observation(revision="revision 4 is not re-applied yet", established=frozenset(),
                             resolver="the resolver on 203.0.113.53 does not answer",
                             web="the web UI does not answer")
    verdict = health.evaluate(obs, [])
    assert not verdict.healthy and len(verdict.problems) == 3
    fatal = health.evaluate(health.Observation(None, frozenset(), None, None,
                                               fatal="ixp-web.service failed"), [])
    assert fatal.fatal and not fatal.healthy


def test_rauc_status_json_is_read():
    st = rauc.parse_status({"booted": "B", "boot_primary": "rootfs.1", "slots": [
        {"rootfs.0": {"bootname": "A", "state": "inactive", "boot_status": "good",
                      "device": "/dev/vda3", "slot_status": {"bundle": {"version": "0.1.0"}}}},
        {"rootfs.1": {"bootname": "B", "state": "booted", "boot_status": "good",
                      "device": "/dev/vda4", "slot_status": {
                          "bundle": {"version": "0.1.1"},
                          "installed": {"timestamp": "2026-12-01T10:00:00Z"}}}}]})
    assert st.booted == "B" and st.primary == "rootfs.1"
    assert [(s.bootname, s.bundle_version) for s in st.slots] == [("A", "0.1.0"), ("B", "0.1.1")]


@pytest.mark.parametrize("line", [
    "rauc-Message: 12:00:00.000: Rejected send message",
    "(rauc:1014): rauc-WARNING **: 05:25:47.558: Rejected send message",
    "(rauc:7): 05:25:47.558: Rejected send message",
])
def test_rauc_log_prefixes_are_left_out_of_a_message(line):
    assert rauc._clean(line + "\n\n") == "Rejected send message"


def test_the_web_may_read_raucs_status_and_change_nothing():
    """The bus policy lets ixp-web (the web UI, no capabilities) ask for the slots and
    nothing else: an install or a mark stays root's."""
    import xml.etree.ElementTree as ET

    root = ET.parse(Path(__file__).parents[2] / "rootfs" / "etc" / "dbus-1" / "system.d" /
                    "de.pengutronix.rauc.conf").getroot()
    web = root.find("policy[@user='ixp-web']")
    allowed = {(a.get("send_interface"), a.get("send_member")) for a in web.findall("allow")}
    assert all(a.get("send_destination") == "de.pengutronix.rauc" and a.get("send_member")
               for a in web.findall("allow")), "an allow without a method allows them all"
    assert ("de.pengutronix.rauc.Installer", "GetSlotStatus") in allowed
    assert not {m for i, m in allowed if i == "de.pengutronix.rauc.Installer"} & {
        "Install", "InstallBundle", "Mark", "InspectBundle"}
    assert {i for i, _m in allowed} <= {"de.pengutronix.rauc.Installer",
                                         "org.freedesktop.DBus.Properties",
                                         "org.freedesktop.DBus.Introspectable",
                                         "org.freedesktop.DBus.Peer"}
    assert ("org.freedesktop.DBus.Properties", "Set") not in allowed
    assert root.find("policy[@context='default']/deny").get("send_destination") == \
        "de.pengutronix.rauc"


def test_booted_slot_from_the_command_line(tmp_path):
    cmdline = tmp_path / "cmdline"
    cmdline.write_text("root=PARTLABEL=ixp-root-b rw quiet rauc.slot=B\n")
    assert rauc.booted_slot(cmdline) == "B"
    cmdline.write_text("root=/dev/sda1\n")
    assert rauc.booted_slot(cmdline) is None


class FakeRauc:
    """What the gate asks RAUC to do, recorded instead of done."""

    def __init__(self, monkeypatch, booted: str) -> None:
        self.marks: list[tuple[str, str]] = []
        monkeypatch.setattr(rauc, "booted_slot", lambda *a: booted)
        monkeypatch.setattr(rauc, "mark", lambda state, which="booted", timeout=60:
                            self.marks.append((state, which)))


def pending(state: Path, **kw) -> None:
    records.write(state, records.PENDING, {"from_version": "0.1.0", "to_version": "0.1.1",
                                           "slot": "B", "established_before": ["rs4", "rs6"],
                                           "health_timeout": 1, **kw})


def test_gate_marks_an_ordinary_boot_good(tmp_path, monkeypatch):
    fake = FakeRauc(monkeypatch, "A")
    records.progress(tmp_path, "reboot", "rebooting")  # what the last update left
    assert gate.run(tmp_path, say=lambda _s: None) == 0
    assert fake.marks == [("good", "booted")]
    assert records.read(tmp_path, records.PROGRESS)["done"], "the update's progress was left on"


def test_the_web_sees_the_other_slots_version_root_wrote_down(tmp_path, monkeypatch):
    """The web UI (ixp-web) cannot open a slot's block device for debugfs; the gate (root)
    writes both slots' versions at every boot, and the page reads them from there."""
    from appliance.firmware import status

    FakeRauc(monkeypatch, "B")
    devices = {"A": tmp_path / "sda3", "B": tmp_path / "sda4"}
    for d in devices.values():
        d.write_bytes(b"")
    monkeypatch.setattr(status, "SLOT_DEVICES", devices)
    monkeypatch.setattr(status, "running_version", lambda *a: "0.1.1")
    monkeypatch.setattr(status, "slot_version", lambda device: "0.1.0" if device == devices["A"]
                        else pytest.fail("debugfs on the running slot"))
    state = tmp_path / "state"
    assert gate.run(state, say=lambda _s: None) == 0
    assert records.read(state, records.SLOTS) == {"A": "0.1.0", "B": "0.1.1"}
    # as the web's user: no access to the device, debugfs is never tried
    monkeypatch.setattr(status.os, "access", lambda *_a: False)
    monkeypatch.setattr(status, "slot_version", lambda _d: pytest.fail("debugfs as ixp-web"))
    monkeypatch.setattr(rauc, "available", lambda: True)
    monkeypatch.setattr(rauc, "status", lambda timeout=60: rauc.RaucStatus(
        booted="rootfs.1", primary="rootfs.1", slots=[]))
    st = status.firmware_status(state)
    assert {s.bootname: s.version for s in st.slots} == {"A": "0.1.0", "B": "0.1.1"}, st
    # an install (root) writes the slot it filled
    monkeypatch.setattr(status, "slot_version", lambda _d: "0.1.0")
    status.record_slot_versions(state, {"A": "0.1.2"})
    assert records.read(state, records.SLOTS)["A"] == "0.1.2"


def test_gate_keeps_a_healthy_new_system(tmp_path, monkeypatch):
    fake = FakeRauc(monkeypatch, "B")
    pending(tmp_path)
    healthy = health.Observation(None, frozenset({"rs4"}), None, None)
    assert gate.run(tmp_path, say=lambda _s: None, observe=lambda _p: healthy,
                    reboot=lambda: pytest.fail("rebooted a healthy system")) == 0
    assert fake.marks == [("good", "booted")]
    assert records.read(tmp_path, records.PENDING) is None
    assert records.read(tmp_path, records.LAST)["result"] == "ok"


def test_gate_falls_back_from_an_unhealthy_system_and_the_old_one_says_why(tmp_path,
                                                                           monkeypatch):
    fake = FakeRauc(monkeypatch, "B")
    pending(tmp_path)
    broken = health.Observation(None, frozenset({"rs4", "rs6"}), None, None,
                                fatal="the web UI does not answer: ixp-web.service failed")
    rebooted: list[bool] = []
    assert gate.run(tmp_path, say=lambda _s: None, observe=lambda _p: broken,
                    reboot=lambda: rebooted.append(True)) == 1
    assert rebooted and fake.marks == [("bad", "booted")]
    # the box is back on the old slot A
    lines: list[str] = []
    old = FakeRauc(monkeypatch, "A")
    assert gate.run(tmp_path, say=lines.append) == 0
    assert old.marks == [("good", "booted"), ("bad", "other")]
    last = records.read(tmp_path, records.LAST)
    assert last["result"] == "rolled_back" and "ixp-web.service failed" in last["reason"]
    assert lines == ["update to 0.1.1 failed and was rolled back: the web UI does not answer: "
                     "ixp-web.service failed"]


def test_gate_after_a_hung_trial_names_the_hang(tmp_path, monkeypatch):
    FakeRauc(monkeypatch, "A")
    pending(tmp_path)  # the new system never wrote a reason
    lines: list[str] = []
    gate.run(tmp_path, say=lines.append)
    assert "did not finish its health check" in lines[0]


def test_gate_gives_up_after_its_bound(tmp_path, monkeypatch):
    FakeRauc(monkeypatch, "B")
    pending(tmp_path)
    waiting = health.Observation("revision 1 is not re-applied yet (activating)", frozenset(),
                                 None, None)
    start = time.monotonic()
    verdict = gate.wait_healthy(tmp_path, ["rs4"], 0.3, observe=lambda _p: waiting, every=0.1,
                                say=lambda _s: None)
    assert not verdict.healthy and time.monotonic() - start < 5
    assert "only 0 of the 1" in verdict.reason


def test_drain_renders_graceful_shutdown_and_bird_accepts_it(example_text, tool, tmp_path):
    cfg = load_config_text(example_text)
    plain = render_bird(cfg, load_bogons())
    drained = render_bird(cfg, load_bogons(), drain=True)
    assert "bgp_community.add((65535, 0));" in drained
    assert "bgp_community.add((65535, 0));" not in plain
    conf = tmp_path / "bird.conf"
    conf.write_text(drained)
    res = subprocess.run(shipped.wrap_named([tool("bird", "bird2"), "-p", "-c", str(conf)]),
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr


def test_drain_file_switches_the_concern_and_expires(example_text, tmp_path):
    cfg = load_config_text(example_text)
    assert not RouteServerConcern.from_state(tmp_path).draining
    drain.write(tmp_path, 30, "test")
    concern = RouteServerConcern.from_state(tmp_path)
    assert concern.draining
    assert b"65535, 0" in concern.render(cfg)[0].content
    assert drain.current(tmp_path, now=time.time() + 31) is None  # a reboot never drains
    assert drain.clear(tmp_path) and not RouteServerConcern.from_state(tmp_path).draining


def test_the_python_dns_probe_reads_the_answer_code():
    """The image has no dig: the resolver's health is asked from Python (loopback only)."""
    import socket
    import struct
    import threading

    from appliance.resolver.probe import udp_probe

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.bind(("127.0.0.1", 0))
        port = server.getsockname()[1]

        def answer() -> None:
            query, peer = server.recvfrom(512)
            flags = 0x8183  # a response, recursion available, NXDOMAIN
            server.sendto(query[:2] + struct.pack("!H", flags) + query[4:], peer)
        threading.Thread(target=answer, daemon=True).start()
        result = udp_probe("127.0.0.1", "nonexistent.example", timeout=2, port=port)
    assert result.ok and result.detail == "NXDOMAIN"
