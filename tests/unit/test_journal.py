"""The journal read for the Logs page (``appliance.platform.journal``): only the box's units,
bounded lines and priorities, and the command built from nothing else."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from appliance.platform import journal
from appliance.platform.target import Target

ROOT_UNITS = {"ixp-web.service", "ixp-apply.service", "ixp-restore.service",
              "ixp-data-refresh.service", "ixp-collector.service", "ixp-snmp.service",
              "ixp-anycast.service", "ixp-bird.service", "ixp-unbound.service",
              "ixp-stayrtr.service", "ixp-https.service", "ixp-firmware-gate.service",
              "ixp-rauc.service"}


def test_every_unit_named_is_one_of_the_repo() -> None:
    shipped = {p.name for p in (Path(__file__).parents[2] / "systemd").iterdir()}
    named = {u for units in journal.UNITS.values() for u in units}
    assert named >= ROOT_UNITS
    # every name is a unit file of systemd/, or one of the transient units the helper starts
    # (apply_service.server: the firmware update's, the reboot's)
    transient = {"ixp-firmware-update-*", "ixp-reboot.service"}
    assert named - transient <= shipped, named - transient - shipped


def test_the_command_is_built_from_the_allow_list_only() -> None:
    assert journal.argv("ixp-web", 100, "err") == [
        "journalctl", "--no-pager", "-o", "short-iso", "-n", "100", "-u", "ixp-web.service",
        "-p", "err"]
    everything = journal.argv(journal.ALL)
    assert everything[:6] == ["journalctl", "--no-pager", "-o", "short-iso", "-n", "500"]
    assert everything.count("-u") == sum(len(u) for u in journal.UNITS.values())
    assert "-p" not in everything


@pytest.mark.parametrize(("unit", "lines", "priority", "words"), [
    ("sshd", 10, None, "unit must be one of all, ixp-web"),
    ("ixp-web --file=/etc/shadow", 10, None, "unit must be one of"),
    ("ixp-web", 0, None, "lines must be a number of lines from 1 to 5000"),
    ("ixp-web", 5001, None, "lines must be a number of lines from 1 to 5000"),
    ("ixp-web", True, None, "lines must be a number"),
    ("ixp-web", 10, "7", "priority must be one of emerg"),
    ("ixp-web", 10, "", "priority must be one of emerg"),
])
def test_anything_else_is_refused(unit, lines, priority, words) -> None:
    with pytest.raises(ValueError, match=words):
        journal.argv(unit, lines, priority)


def test_only_the_image_s_own_box_has_a_journal_to_read(tmp_path, monkeypatch) -> None:
    assert not journal.available(Target(tmp_path))  # this test host is no image
    monkeypatch.setattr(journal, "on_image", lambda: True)
    assert journal.available(Target(tmp_path))
    assert not journal.available(Target(tmp_path, "ixp-lab"))


def test_the_allow_listed_read_runs_journalctl(tmp_path) -> None:
    """The real command on this host (its journal has no ixp-* units, or a few lines): it
    answers, whatever it holds."""
    if shutil.which("journalctl") is None:
        pytest.skip("no journalctl here")
    try:
        got = journal.read("all", 5, "err")
    except journal.JournalError as exc:  # a container without a journal
        pytest.skip(str(exc))
    assert got.argv[0] == "journalctl" and not got.truncated
    assert isinstance(got.text, str) and got.text.count("\n") <= 5 + 2


def test_a_flood_is_cut_to_the_newest_lines(monkeypatch, tmp_path) -> None:
    """However much journalctl prints, the newest ``MAX_BYTES`` are kept, from a whole line."""
    script = tmp_path / "journalctl"
    script.write_text("#!/bin/sh\nyes 'a line of the journal' | head -n 300000\n"
                      "echo 'the newest line é'\n")
    script.chmod(0o755)
    monkeypatch.setattr(journal, "JOURNALCTL", str(script))
    monkeypatch.setattr(journal, "MAX_BYTES", 64 * 1024)
    got = journal.read("ixp-web", 10)
    assert got.truncated and len(got.text.encode()) <= 64 * 1024
    assert got.text.startswith("a line of the journal\n")
    assert got.text.endswith("the newest line é\n")


def test_a_failing_or_hanging_journalctl_is_a_clear_error(monkeypatch, tmp_path) -> None:
    failing = tmp_path / "failing"
    failing.write_text("#!/bin/sh\necho 'No journal files were found.' >&2\nexit 1\n")
    failing.chmod(0o755)
    monkeypatch.setattr(journal, "JOURNALCTL", str(failing))
    with pytest.raises(journal.JournalError, match=r"failed \(1\): No journal files"):
        journal.read("ixp-web")
    hanging = tmp_path / "hanging"
    hanging.write_text("#!/bin/sh\nexec sleep 30\n")
    hanging.chmod(0o755)
    monkeypatch.setattr(journal, "JOURNALCTL", str(hanging))
    monkeypatch.setattr(journal, "TIMEOUT", 0.5)
    with pytest.raises(journal.JournalError, match=r"took longer than 0\.5 s"):
        journal.read("ixp-web")
    monkeypatch.setattr(journal, "JOURNALCTL", str(tmp_path / "absent"))
    with pytest.raises(journal.JournalError, match="cannot run"):
        journal.read("ixp-web")
