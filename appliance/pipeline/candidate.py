"""One candidate model for every front end: load → compare → commit or discard (NAPALM).

A candidate is a whole configuration someone prepared (an admin page, the wizard, the API, the
CLI), validated once when it is loaded, with:

- an id and a digest of its text, so that Apply applies exactly the candidate a page shows
  (another tab's candidate has another id; a changed one another digest);
- the revision it was made from (``base``), so that a change committed in between is not
  silently undone: the pipeline replays this change on the new head, or refuses it when both
  changed the same thing (``config.merge``);
- its comparison with the running system, made once (render, verify with the real tools,
  plan, diff) and kept, so a review page that is reloaded runs no tool;
- the apply job started for it, so a second click on Apply joins the first instead of
  applying again.

Candidates live in ``<state>/candidates/<id>.json`` (owner-only: they may hold password hashes
and BGP secrets), a few per author, dropped after a week or once applied.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from appliance.config.errors import ConfigError
from appliance.config.loader import config_from_data, dump_config, load_config_text
from appliance.config.merge import MergeConflict
from appliance.config.model import IXPConfig
from appliance.config.revisions import RevisionStore
from appliance.pipeline.run import Comparison, Outcome, Pipeline
from appliance.util.atomic import atomic_write
from appliance.util.lock import state_lock

KEEP_PER_AUTHOR = 10
KEEP_SECONDS = 7 * 24 * 3600
_ID_RE = re.compile(r"^[A-Za-z0-9_-]{8,40}$")


class CandidateGone(LookupError):
    """No such candidate (discarded, applied, expired, or another user's)."""


class CandidateChanged(ValueError):
    """The candidate's content is not the one the page showed."""


@dataclass
class Candidate:
    """A prepared configuration waiting to be reviewed and applied."""

    id: str
    author: str
    created: float
    comment: str
    config: str  # the validated configuration, as YAML
    digest: str  # sha256 of ``config``: what a review page shows and Apply must match
    base: int  # the revision it was made from (0: before any)
    meta: dict[str, str] = field(default_factory=dict)  # front-end data (where Discard leads)
    review: dict[str, Any] | None = None  # the cached comparison
    job: str = ""  # the apply started for it

    def parsed(self) -> IXPConfig:
        """The configuration as the model (parsed once per process and text)."""
        return _parse(self.digest, self.config)


_parsed_cache: dict[str, IXPConfig] = {}


def _parse(digest: str, text: str) -> IXPConfig:
    # The model is frozen, so one parsed copy per text serves every reader.
    cfg = _parsed_cache.get(digest)
    if cfg is None:
        cfg = load_config_text(text)
        if len(_parsed_cache) >= 16:
            _parsed_cache.pop(next(iter(_parsed_cache)))
        _parsed_cache[digest] = cfg
    return cfg


def digest_of(text: str) -> str:
    """The candidate digest of a configuration text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class CandidateStore:
    """The candidates of one state directory."""

    def __init__(self, state_dir: Path, pipeline: Callable[[], Pipeline]) -> None:
        """``pipeline`` makes the pipeline candidates are compared with (``appliance.box``)."""
        self.state_dir = Path(state_dir).absolute()
        self.dir = self.state_dir / "candidates"
        self._pipeline = pipeline

    # -- load ----------------------------------------------------------------------------

    def load(self, data: dict[str, Any] | IXPConfig, *, author: str, comment: str,
             base: int | None = None, meta: dict[str, str] | None = None) -> Candidate:
        """Validate ``data`` once and keep it as a candidate (``ConfigError`` if invalid).

        ``base`` is the revision the data was made from; by default the committed head.
        """
        cfg = data if isinstance(data, IXPConfig) else config_from_data(data)
        text = dump_config(cfg)
        if base is None:
            latest = RevisionStore(self.state_dir).latest()
            base = latest.id if latest else 0
        digest = digest_of(text)
        _parsed_cache.setdefault(digest, cfg)
        with self._locked():
            # The same change again (a reload, the same answers): the same candidate, with
            # its comparison already made.
            for old in self._all():
                if (old.author, old.digest, old.base, old.job) == (author, digest, base, "") \
                        and old.comment == comment:
                    old.meta.update(meta or {})
                    self._write(old)
                    return old
            cand = Candidate(secrets.token_urlsafe(12), author, time.time(), comment, text,
                             digest, base, dict(meta or {}))
            self._prune(author)
            self._write(cand)
        return cand

    def load_revision(self, rev_id: int, *, author: str, comment: str,
                      meta: dict[str, str] | None = None) -> Candidate:
        """An earlier revision's configuration as a candidate (a rollback), with today's
        accounts (``RevisionStore.rollback_data``)."""
        data, base = RevisionStore(self.state_dir).rollback_data(rev_id)
        return self.load(data, author=author, comment=comment, base=base, meta=meta)

    # -- read ----------------------------------------------------------------------------

    def get(self, cand_id: str, author: str) -> Candidate:
        """``author``'s candidate ``cand_id`` (``CandidateGone`` otherwise)."""
        if not _ID_RE.match(cand_id or ""):
            raise CandidateGone(cand_id)
        try:
            data = json.loads((self.dir / f"{cand_id}.json").read_text("utf-8"))
            cand = Candidate(**data)
        except (OSError, ValueError, TypeError) as exc:
            raise CandidateGone(cand_id) from exc
        if cand.author != author:
            raise CandidateGone(cand_id)
        return cand

    def latest(self, author: str) -> Candidate | None:
        """``author``'s newest candidate not applied yet, if any."""
        found = [c for c in self._all() if c.author == author and not c.job]
        return max(found, key=lambda c: c.created) if found else None

    # -- compare -------------------------------------------------------------------------

    def compare(self, cand: Candidate) -> tuple[Candidate, Comparison]:
        """The candidate compared with the running system: cached until the head moves.

        When another revision was committed since the candidate was made, it is first
        re-based (its change replayed on the new head) and compared again.
        """
        pipe = self._pipeline()
        latest = pipe.store.latest()
        head = latest.id if latest else 0
        cached = cand.review
        if cached and cached.get("head") == head and cached.get("digest") == cand.digest:
            return cand, Comparison(Outcome.from_dict(cached["outcome"]), cached["diff"],
                                    cached["rendered"], head)
        if cand.base != head:
            cand = self._rebased(cand, pipe)
        comparison = pipe.compare(cand.parsed(), author=cand.author)
        if comparison.outcome.stage == "lock":  # another apply was running: ask again later
            return cand, comparison
        cand.review = {"head": head, "digest": cand.digest,
                       "outcome": comparison.outcome.as_dict(), "diff": comparison.diff,
                       "rendered": comparison.rendered}
        with self._locked():
            if (self.dir / f"{cand.id}.json").exists():
                self._write(cand)
        return cand, comparison

    def _rebased(self, cand: Candidate, pipe: Pipeline) -> Candidate:
        """``cand`` made from the committed head. When that is not possible, it is kept as it
        is with ``meta["conflict"]`` saying why: it can only be discarded and made again."""
        try:
            merged, head = pipe.rebase(cand.config, cand.base)
        except MergeConflict as exc:
            cand.meta["conflict"] = str(exc)
            return cand
        except ConfigError as exc:
            cand.meta["conflict"] = "; ".join(str(i) for i in exc.issues)
            return cand
        if head is None:
            return cand
        text = dump_config(merged) if isinstance(merged, IXPConfig) else merged
        cand.config, cand.digest, cand.base, cand.review = text, digest_of(text), head, None
        cand.meta["rebased_on"] = str(head)
        return cand

    # -- commit / discard ----------------------------------------------------------------

    def claim(self, cand_id: str, author: str, digest: str,
              start: Callable[[Candidate], str]) -> str:
        """Start applying ``cand_id`` once; returns the job id.

        ``digest`` must be the one the page showed (``CandidateChanged`` otherwise). A second
        claim (a double click, a resent form, a second tab) returns the first one's job.
        """
        with self._locked():
            cand = self.get(cand_id, author)
            if cand.job:
                return cand.job
            if cand.digest != digest:
                raise CandidateChanged(cand_id)
            cand.job = start(cand)
            self._write(cand)
            return cand.job

    def discard(self, cand_id: str, author: str) -> Candidate | None:
        """Forget ``cand_id``; the candidate as it was, or None if it was already gone."""
        with self._locked():
            try:
                cand = self.get(cand_id, author)
            except CandidateGone:
                return None
            (self.dir / f"{cand_id}.json").unlink(missing_ok=True)
            return cand

    def finished(self, cand_id: str, ok: bool) -> None:
        """The apply of ``cand_id`` ended: an applied candidate is dropped (its job's page
        still shows how it went); one that failed can be applied again after a fix."""
        with self._locked():
            path = self.dir / f"{cand_id}.json"
            if ok:
                path.unlink(missing_ok=True)
                return
            try:
                data = json.loads(path.read_text("utf-8"))
            except (OSError, ValueError):
                return
            data["job"] = ""
            atomic_write(path, json.dumps(data, ensure_ascii=False).encode("utf-8"), 0o600)

    # -- storage -------------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        # The candidates' own lock, not the pipeline's: a review must not wait for an apply.
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        with state_lock(self.dir):
            yield

    def _write(self, cand: Candidate) -> None:
        atomic_write(self.dir / f"{cand.id}.json",
                     json.dumps(asdict(cand), ensure_ascii=False).encode("utf-8"), 0o600)

    def _all(self) -> list[Candidate]:
        out = []
        try:
            names = sorted(os.listdir(self.dir))
        except FileNotFoundError:
            return []
        for name in names:
            if not name.endswith(".json"):
                continue
            try:
                out.append(Candidate(**json.loads((self.dir / name).read_text("utf-8"))))
            except (OSError, ValueError, TypeError):
                continue
        return out

    def _prune(self, author: str) -> None:
        """Drop week-old candidates, and all but the newest few of ``author``."""
        now = time.time()
        mine = []
        for cand in self._all():
            if now - cand.created > KEEP_SECONDS:
                (self.dir / f"{cand.id}.json").unlink(missing_ok=True)
            elif cand.author == author:
                mine.append(cand)
        mine.sort(key=lambda c: c.created)
        for cand in mine[:max(0, len(mine) - KEEP_PER_AUTHOR + 1)]:
            (self.dir / f"{cand.id}.json").unlink(missing_ok=True)
