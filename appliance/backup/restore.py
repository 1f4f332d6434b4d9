"""Put a checked backup in place of the state dir's durable parts, all or nothing.

Everything is checked first (``archive.read``, then ``check_contents``: every revision whole,
the newest one a configuration this firmware loads). The swap then goes through a journal in
``<state_dir>/.restore``:

1. the backup's files are written and synced under ``.restore/new/``; nothing else changed,
   and a crash leaves only that directory, which ``recover`` deletes;
2. ``.restore/plan.json`` is written atomically: the commit point;
3. each part is moved aside into ``.restore/old/`` and the new one renamed into place.

A crash after step 2 is finished by ``recover`` (run first by every backup and every
restore), which repeats step 3 where it stopped: every move is done at most once. So the
state is either the old or the restored one, also after kill -9.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from appliance.backup import archive
from appliance.backup.archive import PARTS, Backup, BackupError
from appliance.config.errors import ConfigError
from appliance.config.revisions import RevisionStore
from appliance.util.atomic import atomic_write, fsync_dir
from appliance.util.lock import state_lock

JOURNAL = ".restore"


@dataclass(frozen=True)
class Restored:
    """What a restore put in place."""

    revisions: int
    latest: int | None
    files: int
    software_version: str


def check_contents(backup: Backup) -> None:
    """Refuse a backup whose revisions are damaged or whose newest config cannot be loaded."""
    from appliance.config.loader import load_config_text
    from appliance.config.revisions import Revision

    latest: Revision | None = None
    for rel, data in backup.files.items():
        if not rel.startswith("revisions/"):
            continue
        try:
            rev = Revision(**json.loads(data))
        except (ValueError, TypeError) as exc:
            raise BackupError(f"{rel} in the backup is not a revision ({exc}); the backup is "
                              "damaged") from None
        if latest is None or rev.id > latest.id:
            latest = rev
    if latest is None:
        raise BackupError("the backup holds no configuration revision, so it would leave the "
                          "box unconfigured; make the backup on a box that is set up")
    try:
        load_config_text(latest.config)
    except ConfigError as exc:
        first = "; ".join(str(i) for i in exc.issues[:3])
        raise BackupError(f"revision {latest.id} in the backup is not a configuration this "
                          f"firmware can apply: {first}") from None


def _journal(state_dir: Path) -> Path:
    return state_dir / JOURNAL


def _sync_tree(root: Path) -> None:
    for directory, _dirs, _files in os.walk(root):
        fsync_dir(Path(directory))


def _stage(state_dir: Path, backup: Backup) -> Path:
    new = _journal(state_dir) / "new"
    for rel, data in backup.files.items():
        path = new / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        mode = backup.modes.get(rel, 0o600) & 0o770  # never world-readable: keys, hashes
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(path, mode)
    new.mkdir(parents=True, exist_ok=True)
    _sync_tree(new)
    return new


def _swap(state_dir: Path, plan: list[str]) -> None:
    """Step 3, idempotent: each part is set aside and replaced at most once."""
    journal = _journal(state_dir)
    for part in plan:
        new, old, live = journal / "new" / part, journal / "old" / part, state_dir / part
        if not (old.exists() or old.is_symlink()):
            old.parent.mkdir(parents=True, exist_ok=True)
            if live.exists() or live.is_symlink():
                os.replace(live, old)
                fsync_dir(live.parent)
            else:
                old.mkdir()  # nothing to set aside: a marker that this part's turn has come
            fsync_dir(old.parent)
        if new.exists():
            live.parent.mkdir(parents=True, exist_ok=True)
            os.replace(new, live)
            fsync_dir(live.parent)


def _finish(state_dir: Path) -> None:
    journal = _journal(state_dir)
    # the plan first: a crash inside rmtree then leaves a journal without a plan, deleted
    (journal / "plan.json").unlink(missing_ok=True)
    fsync_dir(journal)
    shutil.rmtree(journal)
    fsync_dir(state_dir)


def recover(state_dir: Path) -> str | None:
    """Finish or undo a restore that was interrupted; what was done, or None. Hold the lock."""
    journal = _journal(state_dir)
    if not journal.exists():
        return None
    plan_path = journal / "plan.json"
    try:
        plan = json.loads(plan_path.read_text())
    except FileNotFoundError:
        shutil.rmtree(journal)  # died before the commit point: the old state is whole
        fsync_dir(state_dir)
        return "an interrupted restore had changed nothing; its files were removed"
    _swap(state_dir, plan)
    _finish(state_dir)
    return "an interrupted restore was finished"


def is_set_up(state_dir: Path) -> int:
    """How many configuration revisions the box has (0: freshly flashed)."""
    return len(RevisionStore(state_dir).ids())


def restore(state_dir: Path, raw: bytes, passphrase: str | None = None, *,
            force: bool = False) -> Restored:
    """Check the whole backup ``raw``, then put it in place of the durable state.

    Refuses (``BackupError``, nothing changed) a box that has revisions unless ``force``.
    The caller re-applies the restored newest revision (``Pipeline.reapply_latest``).
    """
    backup = archive.read(raw, passphrase)
    check_contents(backup)
    with state_lock(state_dir):
        recover(state_dir)
        count = is_set_up(state_dir)
        if count and not force:
            raise BackupError(f"this box is already set up ({count} configuration revision(s)); "
                              "a restore would replace its configuration, history, accounts "
                              "and keys. Make a backup of it first, then restore with --force "
                              "if that is what you want")
        journal = _journal(state_dir)
        journal.mkdir(mode=0o700)
        _stage(state_dir, backup)
        atomic_write(journal / "plan.json", json.dumps(list(PARTS)).encode(), 0o600)
        _swap(state_dir, list(PARTS))
        _finish(state_dir)
        for stale in ("web/wizard-draft.json", "web/setup-code"):
            # the restored accounts log in now: no half-made wizard, no setup code any more
            (state_dir / stale).unlink(missing_ok=True)
    revisions = [r for r in backup.files if r.startswith("revisions/")]
    return Restored(len(revisions), backup.manifest.get("latest_revision"), len(backup.files),
                    str(backup.manifest.get("software_version")))


def create(state_dir: Path, passphrase: str | None = None) -> bytes:
    """A backup of ``state_dir`` (under the state lock: no commit lands halfway)."""
    with state_lock(state_dir):
        recover(state_dir)
        if not is_set_up(state_dir):
            raise BackupError(f"there is nothing to back up in {state_dir}: no configuration "
                              "has been applied yet")
        return archive.build(state_dir, passphrase)
