"""The revision store: every applied configuration, with who, when and why.

One JSON file per revision (``revisions/000042.json``), written atomically. The newest complete
file is the committed configuration, so there is no separate pointer that could disagree with
it; a rollback is a new revision carrying an older configuration. A file whose checksum does not
match (disk corruption) is reported and ignored, never half-read.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from appliance import __version__
from appliance.config.migrations import text_version
from appliance.util.atomic import TMP_MARK, atomic_write, remove_stale_temporaries

_NAME_RE = re.compile(r"^(\d{6,})\.json$")
# The group that may read committed revisions (0640 root:GROUP): the web UI's, which reads the
# history and makes changes from them but never writes them (the apply helper commits). The
# helper sets it to its web user's group; skipped where the group does not exist.
READER_GROUP = "ixp-web"


@dataclass(frozen=True)
class Revision:
    """One committed configuration."""

    id: int
    time: str
    author: str
    comment: str
    software_version: str
    sha256: str
    config: str

    def data(self) -> dict[str, Any]:
        """The configuration as plain data, to make a change from (empty if not a mapping)."""
        import yaml  # here: the daemons that read revisions do not load a YAML parser

        loaded = yaml.safe_load(self.config)
        return loaded if isinstance(loaded, dict) else {}

    def summary(self) -> dict[str, object]:
        """Everything but the configuration text, for listings."""
        data = asdict(self)
        del data["config"]
        return data


class RevisionNotFound(KeyError):
    """No revision with that number exists."""

    def __str__(self) -> str:
        return f"revision {self.args[0]} does not exist; 'ixpctl history' lists them"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class RevisionStore:
    """Append-only history of configurations in ``<state_dir>/revisions``."""

    def __init__(self, state_dir: Path) -> None:
        self.root = Path(state_dir) / "revisions"
        self.problems: list[str] = []

    def _path(self, rev_id: int) -> Path:
        return self.root / f"{rev_id:06d}.json"

    def ids(self) -> list[int]:
        """Numbers of the revision files present, oldest first."""
        if not self.root.is_dir():
            return []
        found = (_NAME_RE.match(p.name) for p in self.root.iterdir() if TMP_MARK not in p.name)
        return sorted(int(m.group(1)) for m in found if m)

    def _read(self, rev_id: int) -> Revision | None:
        path = self._path(rev_id)
        try:
            data = json.loads(path.read_text("utf-8"))
            rev = Revision(**data)
        except (OSError, ValueError, TypeError) as exc:
            self.problems.append(f"{path.name}: unreadable ({exc}); ignored")
            return None
        if rev.id != rev_id or _digest(rev.config) != rev.sha256:
            self.problems.append(f"{path.name}: checksum mismatch; ignored")
            return None
        return rev

    def list(self) -> list[Revision]:
        """All readable revisions, oldest first."""
        return [r for r in (self._read(i) for i in self.ids()) if r is not None]

    def recent(self, count: int) -> list[Revision]:
        """The newest ``count`` readable revisions, oldest first (reads only those files)."""
        found: list[Revision] = []
        for rev_id in reversed(self.ids()):
            rev = self._read(rev_id)
            if rev is not None:
                found.append(rev)
                if len(found) == count:
                    break
        return list(reversed(found))

    def latest(self) -> Revision | None:
        """The committed configuration: the newest readable revision."""
        for rev_id in reversed(self.ids()):
            rev = self._read(rev_id)
            if rev is not None:
                return rev
        return None

    def get(self, rev_id: int) -> Revision:
        """Revision ``rev_id``, or ``RevisionNotFound``."""
        if not self._path(rev_id).exists():
            raise RevisionNotFound(rev_id)
        rev = self._read(rev_id)
        if rev is None:
            raise RevisionNotFound(rev_id)
        return rev

    def rollback_data(self, rev_id: int) -> tuple[dict[str, Any], int]:
        """Revision ``rev_id``'s configuration to apply again, and the head it replaces.

        The accounts are today's, not the old revision's: rolling the network back must
        never lock the current admins out or bring back an account that was removed.
        """
        old = self.get(rev_id).data()
        latest = self.latest()
        old["admin_users"] = (latest.data() if latest else {}).get("admin_users") or []
        return old, latest.id if latest else 0

    def _migration_note(self, comment: str, config_text: str) -> str:
        """``comment``, saying so when this revision is the previous one migrated to a newer
        schema: the previous revision stays as it was, the original (issue 21 item 6)."""
        previous = self.latest()
        if previous is None:
            return comment
        old, new = text_version(previous.config), text_version(config_text)
        if old >= new:
            return comment
        note = (f"configuration migrated from schema version {old} to {new}; revision "
                f"{previous.id} keeps the original")
        return f"{comment} ({note})" if comment else note

    def commit(self, config_text: str, author: str, comment: str) -> Revision:
        """Record ``config_text`` as the next revision. Call with the state lock held."""
        self.root.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(self.root)
        ids = self.ids()
        comment = self._migration_note(comment, config_text)
        rev = Revision(
            id=(ids[-1] + 1) if ids else 1,
            time=datetime.now(UTC).isoformat(timespec="seconds"),
            author=author,
            comment=comment,
            software_version=__version__,
            sha256=_digest(config_text),
            config=config_text,
        )
        payload = json.dumps(asdict(rev), indent=1, ensure_ascii=False).encode("utf-8")
        atomic_write(self._path(rev.id), payload, 0o640)
        _give_to_readers(self._path(rev.id))
        return rev


def _give_to_readers(path: Path) -> None:
    """``path`` to ``READER_GROUP`` (if this system has it and we may)."""
    import grp
    import os

    with contextlib.suppress(KeyError, PermissionError):
        os.chown(path, -1, grp.getgrnam(READER_GROUP).gr_gid)
