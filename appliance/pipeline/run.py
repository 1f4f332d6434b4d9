"""validate → render → verify → apply → commit, for every front end (CLI, web, API).

A failure at any stage leaves the running system on the last committed revision: before apply
nothing has changed; during apply the last good revision is applied again. The revision is
written only after apply succeeded, so a power cut leaves the store on the old or the new
revision, and the next start re-applies whichever it holds.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from appliance.config.errors import ConfigError, Issue
from appliance.config.loader import config_from_data, dump_config, load_config_text
from appliance.config.merge import MergeConflict, merge3
from appliance.config.model import IXPConfig
from appliance.config.revisions import Revision, RevisionStore
from appliance.pipeline import staging
from appliance.pipeline.concern import (
    ApplyContext,
    Change,
    Concern,
    RenderedFile,
    TargetRefused,
    VerifyError,
)
from appliance.platform.target import Target, as_target
from appliance.util.lock import LockBusy, state_lock

log = logging.getLogger(__name__)

STAGES = ("validate", "render", "verify", "plan", "apply", "commit")

# stage, state ("running", "ok", "failed", "skipped"), message
ProgressFn = Callable[[str, str, str], None]


@dataclass
class Outcome:
    """What a pipeline run did, for the CLI, the wizard's progress page and the API."""

    ok: bool
    stage: str
    changes: list[Change] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    error: str | None = None
    revision: Revision | None = None
    rolled_back: bool = False
    message: str = ""
    # The revision the change was re-based on, when another change was committed after the
    # one it was made from (``run(based_on=...)``)
    rebased_on: int | None = None
    # The files a dry run rendered (for the review's diff; not part of the JSON form)
    rendered: dict[str, RenderedFile] | None = field(default=None, repr=False)

    def as_dict(self) -> dict[str, object]:
        """JSON form."""
        return {
            "ok": self.ok,
            "stage": self.stage,
            "message": self.message,
            "error": self.error,
            "issues": [i.as_dict() for i in self.issues],
            "changes": [
                {"concern": c.concern, "action": c.action, "target": c.target, "detail": c.detail,
                 "path": c.path, "notice": c.notice}
                for c in self.changes
            ],
            "revision": self.revision.summary() if self.revision else None,
            "rolled_back": self.rolled_back,
            "rebased_on": self.rebased_on,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Outcome:
        """The outcome of a dry run again, from ``as_dict`` (a cached review)."""
        changes = [Change(c["concern"], c["action"], c["target"], c.get("detail", ""),
                          c.get("path", ""), c.get("notice", ""))
                   for c in data.get("changes") or []]
        issues = [Issue(i["path"], i["message"]) for i in data.get("issues") or []]
        return cls(bool(data["ok"]), str(data["stage"]), changes, issues,
                   data.get("error") or None, rolled_back=bool(data.get("rolled_back")),
                   message=str(data.get("message") or ""))


@dataclass
class Comparison:
    """A candidate compared with the running system once: what a review page shows."""

    outcome: Outcome  # the dry run: plan, or the stage that refused and why
    diff: str  # unified diff of the installed files against the candidate's
    rendered: str  # digest of the rendered files that passed verify ("" if verify failed)
    head: int | None  # the committed revision it was compared against


Rendered = tuple[dict[str, RenderedFile], dict[str, str]]


def rendered_digest(files: dict[str, RenderedFile]) -> str:
    """One checksum over every rendered file (path, mode, group, bytes): same input, same
    digest, so a candidate verified at review need not be verified again at apply."""
    h = hashlib.sha256()
    for path in sorted(files):
        f = files[path]
        h.update(f"{path}\0{f.mode:o}\0{f.group or ''}\0{len(f.content)}\0".encode())
        h.update(f.content)
    return h.hexdigest()


class Pipeline:
    """The change pipeline for one state directory."""

    def __init__(
        self,
        target: Target | str | Path,
        concerns: list[Concern],
        *,
        progress: ProgressFn | None = None,
    ) -> None:
        """``concerns`` in apply order: ``appliance.box.build_pipeline`` gives the box's.
        ``target``: where the change goes (a bare state directory: config-only on this host)."""
        where = as_target(target)
        # absolute: the tools verify and apply run work in other directories
        self.target = Target(where.state_dir.absolute(), where.netns)
        self.state_dir = self.target.state_dir
        self.concerns = concerns
        self.store = RevisionStore(self.state_dir)
        self._progress = progress or (lambda _s, _st, _m: None)

    # -- stages --------------------------------------------------------------------------

    def validate(self, candidate: str | IXPConfig) -> IXPConfig:
        """Parse and check a candidate; raise ``ConfigError`` listing every problem."""
        return candidate if isinstance(candidate, IXPConfig) else load_config_text(candidate)

    def _keeps_an_admin(self, cfg: IXPConfig) -> None:
        """Refuse a candidate without an admin once the committed config has one: nobody could
        log in any more, and the first-boot setup would open again to whoever comes first."""
        if cfg.has_admin():
            return
        latest = self.store.latest()
        if latest is None:
            return  # first configuration (the CLI before the wizard): setup is still open
        try:
            running = load_config_text(latest.config)
        except ConfigError:
            return  # an unreadable old revision is refused elsewhere; not a lockout to judge
        if running.has_admin():
            raise ConfigError([Issue("admin_users", (
                f"revision {latest.id} has an admin and this configuration has none, so nobody "
                "could log in to change it and the setup would open again; keep at least one "
                "admin_users entry with role admin (copy it from the running revision)"))])

    def render(self, cfg: IXPConfig) -> Rendered:
        """Every concern's files (pure), and which concern owns each path."""
        files: dict[str, RenderedFile] = {}
        owners: dict[str, str] = {}
        for concern in self.concerns:
            for f in concern.render(cfg):
                staging.check_relative(f.path)
                if f.path in files:
                    raise RuntimeError(f"{concern.name} and {owners[f.path]} both render {f.path}")
                files[f.path] = f
                owners[f.path] = concern.name
        return files, owners

    def verify(self, cfg: IXPConfig, files: dict[str, RenderedFile]) -> None:
        """Let each concern check the staged candidate files with its real tools."""
        root = staging.make_staging(self.state_dir, files)
        try:
            for concern in self.concerns:
                concern.verify(cfg, root)
        finally:
            staging.drop_staging(root)

    def plan(self, cfg: IXPConfig, rendered: Rendered, ctx: ApplyContext) -> list[Change]:
        """File changes plus each concern's runtime changes."""
        files, owners = rendered
        changes = staging.file_changes(ctx.etc_dir, files, owners)
        for concern in self.concerns:
            changes.extend(concern.plan(cfg, ctx))
        return changes

    def _context(self) -> ApplyContext:
        return ApplyContext(self.target, log.info)

    def _apply_all(self, cfg: IXPConfig, rendered: Rendered, changes: list[Change],
                   ctx: ApplyContext) -> None:
        files, owners = rendered
        for concern in self.concerns:
            mine = [c.path for c in changes if c.concern == concern.name and c.path]
            staging.install_files(ctx.etc_dir, files, mine)
            concern.apply(cfg, ctx, mine)
        staging.write_manifest(ctx.etc_dir, owners)

    # -- the whole run -------------------------------------------------------------------

    def run(self, candidate: str | IXPConfig, *, author: str, comment: str = "",
            dry_run: bool = False, based_on: int | None = None,
            verified: str = "", record: bool = False) -> Outcome:
        """Take a candidate through every stage; commit it as a new revision on success.

        ``based_on`` is the revision the candidate was made from (0: made before any; None:
        apply it as it is, whatever is committed);
        when another revision was committed since, the candidate's change is replayed on it
        (``config.merge``) or refused when both changed the same thing (stage "rebase").
        ``verified`` is the rendered digest a review already verified with the real tools:
        the same files are not verified twice.
        ``record``: commit a revision even when the configuration text is the one committed,
        if the rendered files changed (a refresh of the route server's data: the history
        then says who changed the filters and why).
        """
        try:
            with state_lock(self.state_dir):
                if based_on is not None:
                    try:
                        candidate, rebased = self.rebase(candidate, based_on)
                    except ConfigError as exc:
                        return Outcome(False, "validate", issues=exc.issues,
                                       error="the configuration has problems; nothing was "
                                             "changed")
                    except MergeConflict as exc:
                        return Outcome(False, "rebase", error=(
                            f"changed since you read it: another change to {exc} was committed "
                            "after the revision this one was made from; nothing was changed, "
                            "read the configuration again and redo the change"))
                else:
                    rebased = None
                outcome = self._run_locked(candidate, author, comment, dry_run, verified,
                                           record)
                outcome.rebased_on = rebased
                return outcome
        except LockBusy as exc:
            return Outcome(False, "lock", error=str(exc))

    def rebase(self, candidate: str | IXPConfig, based_on: int
                ) -> tuple[str | IXPConfig, int | None]:
        """The candidate replayed on the committed head when that moved since ``based_on``."""
        latest = self.store.latest()
        if latest is None or latest.id == based_on:
            return candidate, None
        text = candidate if isinstance(candidate, str) else dump_config(candidate)
        base = self.store.get(based_on).data() if based_on else {}
        merged = merge3(base, yaml.safe_load(text) or {}, latest.data())
        return config_from_data(merged), latest.id

    def compare(self, candidate: str | IXPConfig, *, author: str) -> Comparison:
        """Render once, verify once, plan and diff: what a review shows (nothing changes)."""
        cfg = self.validate(candidate)
        latest = self.store.latest()
        outcome = self.run(cfg, author=author, dry_run=True)
        files = outcome.rendered if outcome.rendered is not None else self.render(cfg)[0]
        diff = staging.unified_diff(self.state_dir / "etc", files)
        verified = outcome.ok or outcome.stage == "plan"
        return Comparison(outcome, diff, rendered_digest(files) if verified else "",
                          latest.id if latest else None)

    def _step(self, stage: str, state: str, message: str = "") -> None:
        self._progress(stage, state, message)

    def _run_locked(self, candidate: str | IXPConfig, author: str, comment: str,
                    dry_run: bool, verified: str = "", record: bool = False) -> Outcome:
        self._step("validate", "running")
        try:
            cfg = self.validate(candidate)
            self._keeps_an_admin(cfg)  # under the state lock: no change slips in between
        except ConfigError as exc:
            self._step("validate", "failed", f"{len(exc.issues)} problem(s)")
            return Outcome(False, "validate", issues=exc.issues,
                           error="the configuration has problems; nothing was changed")
        self._step("validate", "ok")
        config_text = dump_config(cfg)
        ctx = self._context()

        self._step("render", "running")
        rendered = self.render(cfg)
        self._step("render", "ok", f"{len(rendered[0])} file(s)")

        if verified and verified == rendered_digest(rendered[0]):
            self._step("verify", "ok", "checked at review")
        else:
            self._step("verify", "running")
            try:
                self.verify(cfg, rendered[0])
            except (VerifyError, OSError) as exc:
                self._step("verify", "failed", str(exc))
                return Outcome(False, "verify", error=f"verification failed: {exc}; nothing "
                               "was changed")
            self._step("verify", "ok")

        self._step("plan", "running")
        try:
            changes = self.plan(cfg, rendered, ctx)
        except (TargetRefused, VerifyError, OSError, ValueError) as exc:
            self._step("plan", "failed", str(exc))
            return Outcome(False, "plan", error=f"{exc}; nothing was changed")
        self._step("plan", "ok", f"{len(changes)} change(s)")

        latest = self.store.latest()
        same_config = latest is not None and latest.config == config_text
        if dry_run:
            for stage in ("apply", "commit"):
                self._step(stage, "skipped", "dry run")
            return Outcome(True, "plan", changes=changes, message="dry run: nothing was changed",
                           rendered=rendered[0])
        if not changes and same_config:
            for stage in ("apply", "commit"):
                self._step(stage, "skipped", "nothing to change")
            return Outcome(True, "commit", revision=latest,
                           message=f"nothing to change: revision {latest.id} is running")

        self._step("apply", "running")
        try:
            self._apply_all(cfg, rendered, changes, ctx)
        except Exception as exc:  # any failure must roll back, whatever raised it
            log.exception("apply failed")
            self._step("apply", "failed", str(exc))
            rolled = self._restore(latest, ctx)
            return Outcome(False, "apply", changes=changes, rolled_back=rolled,
                           error=f"apply failed: {exc}; " + (
                               f"revision {latest.id} was restored" if rolled and latest
                               else "the previous state could not be fully restored"))
        self._step("apply", "ok")

        if same_config and not record:
            self._step("commit", "skipped", "configuration unchanged")
            return Outcome(True, "commit", changes=changes, revision=latest,
                           message=f"revision {latest.id} re-applied")
        self._step("commit", "running")
        rev = self.store.commit(config_text, author, comment)
        self._step("commit", "ok", f"revision {rev.id}")
        note = "" if ctx.has_system else (" (config only: no lab namespace and not the "
                                          "appliance image, so no network was changed)")
        return Outcome(True, "commit", changes=changes, revision=rev,
                       message=f"applied and committed as revision {rev.id}{note}")

    def _restore(self, latest: Revision | None, ctx: ApplyContext) -> bool:
        """Apply the last committed revision again after a failed apply."""
        if latest is None:
            return False
        try:
            cfg = load_config_text(latest.config)
            rendered = self.render(cfg)
            self._apply_all(cfg, rendered, self.plan(cfg, rendered, ctx), ctx)
            return True
        except Exception:  # report, never mask the original failure
            log.exception("restoring revision %s failed", latest.id)
            return False

    def reapply_latest(self, *, author: str = "system") -> Outcome:
        """Bring the running system back to the committed revision (boot, ``ixpctl up``)."""
        latest = self.store.latest()
        if latest is None:
            return Outcome(True, "validate", message="no configuration committed yet")
        return self.run(latest.config, author=author, comment="re-apply at start")

    def rollback(self, rev_id: int, *, author: str) -> Outcome:
        """Apply revision ``rev_id``'s configuration again as a new revision (with today's
        accounts: ``RevisionStore.rollback_data``)."""
        data, base = self.store.rollback_data(rev_id)
        try:
            cfg = config_from_data(data)
        except ConfigError as exc:
            return Outcome(False, "validate", issues=exc.issues,
                           error=f"revision {rev_id} cannot be applied again; nothing was "
                                 "changed")
        return self.run(cfg, author=author, comment=f"rollback to revision {rev_id}",
                        based_on=base)

    def diff(self, candidate: str | IXPConfig) -> str:
        """Unified diff of the installed files against the candidate's (for review)."""
        files, _ = self.render(self.validate(candidate))
        return staging.unified_diff(self.state_dir / "etc", files)


def default_author() -> str:
    """Who is making a change from the command line."""
    return os.environ.get("SUDO_USER") or os.environ.get("USER") or "root"
