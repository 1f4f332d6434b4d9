"""The launcher decides once who runs a daemon: systemd on the image, the caller elsewhere."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from appliance.platform.launcher import (
    BOOT_RESTORE_ENV,
    UNITS,
    Launcher,
    at_boot_restore,
    systemctl_argv,
    systemd_manages,
)
from appliance.platform.target import IMAGE_MARKER, Target


@pytest.fixture
def image_like(tmp_path: Path) -> dict[str, Path]:
    """A marker, a systemd runtime directory and the image state dir, as files of our own."""
    marker = tmp_path / "appliance-image"
    marker.write_text("marker\n")
    runtime = tmp_path / "run-systemd-system"
    runtime.mkdir()
    state = tmp_path / "var-lib-ixp-appliance"
    state.mkdir()
    return {"marker": marker, "runtime": runtime, "image_state_dir": state}


def test_systemd_manages_only_the_images_own_state_dir(image_like: dict[str, Path],
                                                       tmp_path: Path) -> None:
    """Marker + systemd booted + the image's state dir + host namespace: systemd; else not."""
    state = image_like["image_state_dir"]
    assert systemd_manages(state, None, **image_like)
    # the same directory by another path is the same state dir
    assert systemd_manages(state.parent / "." / state.name, None, **image_like)
    assert not systemd_manages(state, "ixp-lab-appliance", **image_like), "a lab namespace"
    other = tmp_path / "other-state"
    other.mkdir()
    assert not systemd_manages(other, None, **image_like), "a second state dir (tests)"
    assert not systemd_manages(state, None, **{**image_like,
                                               "runtime": tmp_path / "no-systemd"})
    assert not systemd_manages(state, None, **{**image_like,
                                               "marker": tmp_path / "no-marker"})


def test_this_host_is_never_managed_by_systemd(tmp_path: Path) -> None:
    """No marker on a developer machine: every start spawns, systemctl is never run."""
    assert not IMAGE_MARKER.exists(), "a developer machine must not carry the image marker"
    assert not Launcher(Target(Path("/var/lib/ixp-appliance"))).systemd
    assert not Launcher(Target(tmp_path)).systemd


def test_off_image_the_caller_spawns_and_stops_real_processes(tmp_path: Path) -> None:
    """start returns what spawn returned; stop and restart use the caller's own functions."""
    launcher = Launcher(Target(tmp_path))
    procs: list[subprocess.Popen[bytes]] = []

    def spawn() -> int:
        proc = subprocess.Popen(["sleep", "60"])
        procs.append(proc)
        return proc.pid

    def kill() -> bool:
        live = [p for p in procs if p.poll() is None]
        for p in live:
            p.send_signal(signal.SIGTERM)
            p.wait(5)
        return bool(live)

    try:
        first = launcher.start("bird", spawn)
        assert first == procs[0].pid and procs[0].poll() is None
        second = launcher.restart("bird", kill, spawn)
        assert procs[0].poll() is not None, "restart must stop the old process first"
        assert second == procs[1].pid and procs[1].poll() is None
        assert launcher.stop("bird", kill) is True
        assert procs[1].poll() is not None
        assert launcher.stop("bird", kill) is False, "nothing left to stop"
        assert not launcher.active("bird") and launcher.main_pid("bird") is None
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def test_systemctl_command_lines() -> None:
    """Every daemon has a unit; --no-block only when asked (the boot restore)."""
    argv = systemctl_argv("start", "bird")
    assert argv[0].endswith("systemctl") and argv[1:] == ["start", "ixp-bird.service"]
    assert systemctl_argv("restart", "unbound", no_block=True)[1:] == [
        "--no-block", "restart", "ixp-unbound.service"]
    assert systemctl_argv("show", "snmp", "-p", "MainPID", "--value")[1:] == [
        "show", "-p", "MainPID", "--value", "ixp-snmp.service"]
    units = Path(__file__).resolve().parents[2] / "systemd"
    for unit in UNITS.values():
        assert (units / unit).is_file(), f"{unit} is named in the launcher but not shipped"


def test_boot_restore_is_read_from_the_environment() -> None:
    """ixp-restore.service sets IXP_BOOT_RESTORE=1; starts are then only queued."""
    saved = os.environ.pop(BOOT_RESTORE_ENV, None)
    try:
        assert not at_boot_restore()
        os.environ[BOOT_RESTORE_ENV] = "1"
        assert at_boot_restore()
        # off the image nothing is deferred: the caller spawns and waits as always
        assert not Launcher(Target(Path("/nonexistent-state"))).deferred
    finally:
        os.environ.pop(BOOT_RESTORE_ENV, None)
        if saved is not None:
            os.environ[BOOT_RESTORE_ENV] = saved
