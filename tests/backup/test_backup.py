"""Backup and restore (issue 21 item 7): everything durable travels, nothing else; every bad
file is refused with a message saying why, and the box is left exactly as it was."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path

import pytest

from appliance import __version__
from appliance.backup import archive
from appliance.backup.archive import BackupError
from appliance.backup.restore import create, recover, restore
from appliance.config.revisions import RevisionStore
from appliance.pipeline.run import Pipeline
from appliance.web import accounts
from tests.backup.conftest import ADMIN, PASSWORD, durable

PHRASE = "long enough passphrase"


def tree(state_dir: Path) -> dict[str, bytes]:
    """Every file under the state dir (to prove a refused restore changed nothing)."""
    return {p.relative_to(state_dir).as_posix(): p.read_bytes()
            for p in sorted(state_dir.rglob("*")) if p.is_file() and p.name != "lock"}


def repack(raw: bytes, edit) -> bytes:
    """The plain backup ``raw`` with ``edit(manifest, files)`` applied, hashes kept honest."""
    backup = archive.read(raw)
    edit(backup.manifest, backup.files)
    backup.manifest["files"] = {rel: {"sha256": archive._sha256(d), "size": len(d),
                                      "mode": 0o600} for rel, d in backup.files.items()}
    return _tar([("manifest.json", json.dumps(backup.manifest).encode()),
                 *backup.files.items()])


def _tar(entries) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb") as gz, tarfile.open(fileobj=gz, mode="w") as tar:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_restore_brings_back_everything_durable_and_nothing_else(box, fresh):
    raw = create(box)
    assert raw[:2] == b"\x1f\x8b", "a plain backup is a gzip tar anyone can list"
    manifest = archive.read(raw).manifest
    assert manifest["software_version"] == __version__
    assert manifest["schema_version"] == 1 and manifest["latest_revision"] == 2
    assert "web/api-tokens.json" in manifest["files"]
    for absent in ("run/bird.ctl", "etc/bird/bird.conf", "lab.json", "monitor/samples.sqlite",
                   "web/secret_key", "web/setup-code"):
        assert absent not in manifest["files"]

    done = restore(fresh, raw)
    assert (done.revisions, done.latest) == (2, 2)
    assert durable(fresh) == durable(box)
    assert [r.comment for r in RevisionStore(fresh).list()] == ["first light", "second"]
    assert (fresh / "tls/key.pem").stat().st_mode & 0o777 == 0o600
    assert not (fresh / "web/setup-code").exists(), "the setup code must not work any more"
    assert not (fresh / "run").exists() and not (fresh / ".restore").exists()
    # the restored account logs in; the restored revision applies through the pipeline
    assert accounts.setup_done(fresh)
    assert accounts.verify(fresh, ADMIN, PASSWORD) is not None
    out = Pipeline(fresh, concerns=[]).reapply_latest(author="restore")
    assert out.ok, out.error


def test_encrypted_backup_round_trip_and_wrong_passphrase(box, fresh):
    raw = create(box, PHRASE)
    assert raw.startswith(archive.MAGIC) and b"alice" not in raw
    before = tree(fresh)
    with pytest.raises(BackupError, match="passphrase is wrong"):
        restore(fresh, raw, "not the passphrase")
    with pytest.raises(BackupError, match="encrypted: give the passphrase"):
        restore(fresh, raw)
    assert tree(fresh) == before
    restore(fresh, raw, PHRASE)
    assert durable(fresh) == durable(box)


def test_short_passphrase_is_refused(box):
    with pytest.raises(BackupError, match="at least 8 characters"):
        create(box, "short")


@pytest.mark.parametrize("encrypted", [False, True])
def test_truncated_backup_is_refused_and_nothing_changes(box, fresh, encrypted):
    raw = create(box, PHRASE if encrypted else None)
    before = tree(fresh)
    for cut in (1, 10, len(raw) // 3, len(raw) // 2, len(raw) - 1):
        with pytest.raises(BackupError, match=r"truncated|damaged") as exc:
            restore(fresh, raw[:cut], PHRASE if encrypted else None)
        assert "Traceback" not in str(exc.value)
    assert tree(fresh) == before


@pytest.mark.parametrize("foreign", [
    b"", b"\x89PNG\r\n\x1a\n" + bytes(100), b"identity:\n  name: x\n",
    _tar([("etc/passwd", b"root:x:0:0")]),
])
def test_foreign_file_is_refused(fresh, foreign):
    before = tree(fresh)
    with pytest.raises(BackupError, match=r"not an ixp-appliance backup|empty|truncated"):
        restore(fresh, foreign)
    assert tree(fresh) == before


def test_backup_of_a_newer_schema_is_refused_naming_the_firmware(box, fresh):
    def newer(manifest, files):
        manifest["schema_version"] = 9
        manifest["software_version"] = "7.0.0"
    raw = repack(create(box), newer)
    before = tree(fresh)
    with pytest.raises(BackupError) as exc:
        restore(fresh, raw)
    assert "schema version 9" in str(exc.value) and "ixp-appliance 7.0.0 or newer" in \
        str(exc.value)
    assert tree(fresh) == before


def test_tampered_traversing_and_unlisted_files_are_refused(box, fresh):
    raw = create(box)
    backup = archive.read(raw)
    entries = [("manifest.json", json.dumps(backup.manifest).encode()), *backup.files.items()]
    tampered = [(n, b"x" + d if n == "tls/key.pem" else d) for n, d in entries]
    with pytest.raises(BackupError, match=r"tls/key.pem .* does not match its checksum"):
        restore(fresh, _tar(tampered))
    with pytest.raises(BackupError, match="path that is not allowed"):
        restore(fresh, _tar([*entries, ("../../etc/cron.d/x", b"evil")]))
    with pytest.raises(BackupError, match="does not list"):
        restore(fresh, _tar([*entries, ("revisions/000099.json", b"{}")]))
    with pytest.raises(BackupError, match="not part of an appliance's state"):
        restore(fresh, repack(raw, lambda m, f: f.update({"etc/x": b"1"})))
    assert not (fresh / "revisions").exists()


def test_a_backup_whose_config_does_not_load_is_refused(box, fresh):
    def damage(manifest, files):
        rev = json.loads(files["revisions/000002.json"])
        rev["config"] = "identity: 7\n"
        rev["sha256"] = __import__("hashlib").sha256(rev["config"].encode()).hexdigest()
        files["revisions/000002.json"] = json.dumps(rev).encode()
    with pytest.raises(BackupError, match="revision 2 in the backup is not a configuration"):
        restore(fresh, repack(create(box), damage))


def test_a_box_that_is_set_up_is_replaced_only_with_force(box, tmp_path, example_text):
    from tests.backup.conftest import make_box

    other = make_box(tmp_path / "other", example_text, marker="b")
    (other / "rpki/extra.json").write_text("only on the other box")
    raw = create(box)
    before = tree(other)
    with pytest.raises(BackupError, match=r"already set up .* --force"):
        restore(other, raw)
    assert tree(other) == before
    restore(other, raw, force=True)
    assert durable(other) == durable(box), "parts not in the backup go too"


def test_nothing_to_back_up_on_a_fresh_box(fresh):
    with pytest.raises(BackupError, match="nothing to back up"):
        create(fresh)


def test_recover_removes_a_restore_that_died_before_its_commit_point(box, fresh):
    before = durable(fresh)
    (fresh / ".restore/new/revisions").mkdir(parents=True)
    (fresh / ".restore/new/revisions/000001.json").write_text("half")
    assert "changed nothing" in recover(fresh)
    assert durable(fresh) == before and not (fresh / ".restore").exists()
    assert recover(fresh) is None
