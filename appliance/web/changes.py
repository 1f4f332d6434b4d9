"""Review → apply for every change made in the admin pages (the NAPALM compare/commit model)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _

from appliance.config.committed import committed_config
from appliance.config.errors import ConfigError
from appliance.config.revisions import RevisionStore
from appliance.pipeline.candidate import (
    Candidate,
    CandidateChanged,
    CandidateGone,
    CandidateStore,
)
from appliance.pipeline.run import Comparison
from appliance.web import applying, irr_status, jobs
from appliance.web.masking import mask_secrets
from appliance.web.summary import field_errors, review_context
from appliance.web.where import current_target

bp = Blueprint("changes", __name__, url_prefix="/changes")


def _state() -> Path:
    return current_app.config["STATE_DIR"]


def store() -> CandidateStore:
    """The box's candidates (every admin page and the wizard load theirs here)."""
    return applying.store()


def _load(data: dict[str, Any], comment: str, back: str, edit: str) -> Candidate:
    return store().load(data, author=g.user, comment=comment,
                        meta={"back": back, "edit": edit})


def propose(data: dict[str, Any], comment: str, back: str, edit: str = "") -> Response:
    """Load a candidate (``ConfigError`` with every problem if invalid), compare it once, and
    show its review.

    ``edit`` is the form that made the change: the review's "Edit" reopens it.
    """
    cand = _load(data, comment, back, edit)
    store().compare(cand)
    return redirect(url_for("changes.show", cand_id=cand.id))


def prepare(data: dict[str, Any], comment: str, back: str,
            edit: str = "") -> Response | list[tuple[str, str]]:
    """Like ``propose``, for a form that shows problems next to its fields.

    Returns the review's redirect, or (field path, message) for every problem the model or
    the running system has with the change (e.g. ``("members[5].ports[0].interface",
    "interface ixp6 does not exist ...")``), in which case nothing is kept.
    """
    try:
        cand = _load(data, comment, back, edit)
    except ConfigError as exc:
        return [(i.path, i.message) for i in exc.issues]
    cand, comparison = store().compare(cand)
    outcome = comparison.outcome
    if not outcome.ok:
        store().discard(cand.id, g.user)
        return [(i.path, i.message) for i in outcome.issues] or \
            field_errors(outcome.error or "refused")
    return redirect(url_for("changes.show", cand_id=cand.id))


def _render_review(cand: Candidate, comparison: Comparison) -> str:
    cfg = cand.parsed()
    running = committed_config(_state())
    ctx = review_context(cfg, running, comparison.outcome,
                         mask_secrets(comparison.diff, cfg, running))
    if ctx["summary"]:
        ctx["summary"] += irr_status.new_member_gaps(_state(), running, cfg)
    edit = cand.meta.get("edit") or ""
    if edit:
        edit += ("&" if "?" in edit else "?") + f"candidate={cand.id}"
    rebased = cand.meta.get("rebased_on") or ""
    conflict = cand.meta.get("conflict") or ""
    if conflict:  # made on an older revision and both changed the same: never applicable
        ctx["ok"] = False
    return render_template("change_review.html", comment=cand.comment, **ctx, edit=edit,
                           cand=cand, rebased=rebased, conflict=conflict,
                           back=cand.meta.get("back") or url_for("status.index"))


@bp.get("/review")
def review() -> Response | str:
    """Your newest change waiting for review (the pages link to each change by its id)."""
    cand = store().latest(g.user)
    if cand is None:
        flash(_("There is no change waiting for review."), "info")
        return redirect(url_for("status.index"))
    return show(cand.id)


@bp.get("/<cand_id>")
def show(cand_id: str) -> Response | str:
    """One prepared change: plan and diff, then Apply or Discard.

    The comparison was made when the change was prepared; a reload runs no tool. When another
    change was committed since, this one is replayed on it and compared again, once.
    """
    try:
        cand = store().get(cand_id, g.user)
    except CandidateGone:
        applied = jobs.for_candidate(cand_id)  # e.g. the Back button after Apply
        if applied is not None:
            return redirect(url_for("changes.progress", job_id=applied.id))
        return _gone()
    try:
        cand, comparison = store().compare(cand)
    except ConfigError as exc:
        store().discard(cand.id, g.user)
        flash(_("The prepared change no longer fits: %(why)s", why=exc.issues[0]), "error")
        return redirect(cand.meta.get("back") or url_for("status.index"))
    return _render_review(cand, comparison)


def _gone() -> Response:
    flash(_("There is no change waiting for review."), "info")
    return redirect(url_for("status.index"))


@bp.post("/apply")
def apply() -> Response:
    """Apply exactly the change the review showed (its id and digest); the next page shows
    each stage. A second click, or a second tab, joins the first apply."""
    return _claim(request.form.get("candidate", ""), request.form.get("digest", ""))


def apply_now(data: dict[str, Any], comment: str, back: str) -> Response:
    """Load, compare and apply a change in one click, for an action its page checked first
    (releasing a port from quarantine): the same candidate, job and history entry (with who
    did it) as Review → Apply. A change the comparison refuses shows its review instead."""
    cand = _load(data, comment, back, "")
    cand, comparison = store().compare(cand)
    if not comparison.outcome.ok:
        return redirect(url_for("changes.show", cand_id=cand.id))
    return _claim(cand.id, cand.digest)


def _claim(cand_id: str, digest: str) -> Response:
    running = jobs.for_candidate(cand_id)
    if running is not None:
        return redirect(url_for("changes.progress", job_id=running.id))
    state, user, target = _state(), g.user, current_target()
    cands = store()

    def start(cand: Candidate) -> str:
        latest = RevisionStore(state).latest()
        if (latest.id if latest else 0) != cand.base:  # committed since it was shown:
            raise CandidateChanged(cand.id)  # the review replays it; never apply it unseen
        job = jobs.start(target, cand.parsed(), user, cand.comment, candidate=cand.id,
                         based_on=cand.base, verified=(cand.review or {}).get("rendered", ""),
                         on_end=lambda ok: cands.finished(cand.id, ok))
        return job.id

    try:
        job_id = cands.claim(cand_id, user, digest, start)
    except CandidateGone:
        return _gone()
    except CandidateChanged:
        flash(_("This change was prepared before another change was applied. It was redone "
                "on top of the new configuration: review it again, then apply."), "error")
        return redirect(url_for("changes.show", cand_id=cand_id))
    return redirect(url_for("changes.progress", job_id=job_id))


@bp.post("/discard")
def discard() -> Response:
    """Forget the change the review showed."""
    cand = store().discard(request.form.get("candidate", ""), g.user)
    flash(_("The change was discarded; nothing was applied."), "info")
    return redirect((cand.meta.get("back") if cand else "") or url_for("status.index"))


@bp.get("/apply/<job_id>")
def progress(job_id: str) -> str:
    """Live progress of the apply."""
    return jobs.progress_page(job_id, poll_endpoint="changes.progress_json",
                              done_label=_("Back to the status page"),
                              back_endpoint="changes.review")


@bp.get("/apply/<job_id>.json")
def progress_json(job_id: str) -> Response:
    """The same, for the page's script."""
    return jobs.progress_json(job_id)
