"""ixpctl backup create / restore as an operator runs them."""

from __future__ import annotations

import subprocess
import sys

from tests.backup.conftest import durable


def ixpctl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "appliance.cli", *args], capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)


def test_create_check_and_restore_with_a_passphrase_file(box, fresh, tmp_path):
    phrase = tmp_path / "phrase"
    phrase.write_text("a passphrase for the test\n")
    out = tmp_path / "box.ixpbackup"
    r = ixpctl("backup", "create", "-o", str(out), "--passphrase-file", str(phrase),
               "--state-dir", str(box))
    assert r.returncode == 0, r.stderr
    assert "encrypted" in r.stdout and out.stat().st_mode & 0o777 == 0o600

    wrong = tmp_path / "wrong"
    wrong.write_text("another passphrase\n")
    r = ixpctl("backup", "restore", str(out), "--passphrase-file", str(wrong),
               "--state-dir", str(fresh))
    assert r.returncode == 1 and "passphrase is wrong" in r.stderr
    assert not (fresh / "revisions").exists()

    r = ixpctl("backup", "restore", str(out), "--check", "--passphrase-file", str(phrase),
               "--state-dir", str(fresh))
    assert r.returncode == 0 and "a whole backup" in r.stdout, r.stderr
    assert not (fresh / "revisions").exists(), "--check changes nothing"

    r = ixpctl("backup", "restore", str(out), "--passphrase-file", str(phrase),
               "--state-dir", str(fresh))
    assert r.returncode == 0, r.stderr
    assert "restored" in r.stdout and "revision 2 re-applied" in r.stdout
    assert durable(fresh) == durable(box)

    # now set up: a second restore must be asked for
    r = ixpctl("backup", "restore", str(out), "--passphrase-file", str(phrase),
               "--state-dir", str(fresh))
    assert r.returncode == 1 and "--force" in r.stderr


def test_passphrase_prompt_needs_a_terminal_and_missing_files_are_named(box, tmp_path):
    r = ixpctl("backup", "create", "-o", str(tmp_path / "b"), "--passphrase",
               "--state-dir", str(box))
    assert r.returncode == 1 and "--passphrase-file" in r.stderr
    r = ixpctl("backup", "restore", str(tmp_path / "nope"), "--state-dir", str(box))
    assert r.returncode == 1 and "cannot read" in r.stderr and "nope" in r.stderr
