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
    url_for,
)
from flask_babel import gettext as _

from appliance.config.committed import committed_config
from appliance.config.errors import ConfigError
from appliance.config.loader import config_from_data, load_config_text
from appliance.pipeline.run import Pipeline
from appliance.web import irr_status, pending
from appliance.web.i18n import issue_line
from appliance.web.masking import mask_secrets
from appliance.web.summary import field_errors, review_context
from appliance.web.wizard import jobs

bp = Blueprint("changes", __name__, url_prefix="/changes")


def _state() -> Path:
    return current_app.config["STATE_DIR"]


def propose(data: dict[str, Any], comment: str, back: str, edit: str = "") -> Response:
    """Check a candidate; keep it for review (or raise ``ConfigError`` with every problem).

    ``edit`` is the form that made the change: the review's "Edit" reopens it.
    """
    config_from_data(data)
    pending.save(_state(), g.user, data, comment, back, edit)
    return redirect(url_for("changes.review"))


def plan_problems(data: dict[str, Any]) -> list[tuple[str, str]]:
    """Dry-run a valid candidate through the whole pipeline (render, verify, plan).

    Returns (field path, message) for each problem the running system has with it, e.g.
    ``("members[5].ports[0].interface", "interface ixp6 does not exist in ...")``, so a form
    can show it next to its field; empty when the change can be applied.
    """
    pipe = Pipeline(_state(), netns=current_app.config.get("NETNS"))
    outcome = pipe.run(config_from_data(data), author=g.user or "web", dry_run=True)
    if outcome.ok:
        return []
    found = [(i.path, i.message) for i in outcome.issues]
    return found or field_errors(outcome.error or "refused")


@bp.get("/review")
def review() -> Response | str:
    """The pending change: plan and diff, then Apply or Discard."""
    change = pending.load(_state(), g.user)
    if change is None:
        flash(_("There is no change waiting for review."), "info")
        return redirect(url_for("status.index"))
    pipe = Pipeline(_state(), netns=current_app.config.get("NETNS"))
    try:
        cfg = load_config_text(change["config"])
    except ConfigError as exc:  # the committed config changed under the pending one
        pending.clear(_state(), g.user)
        flash(_("The prepared change no longer fits: %(why)s", why=issue_line(exc)), "error")
        return redirect(change.get("back") or url_for("status.index"))
    outcome = pipe.run(cfg, author=g.user, dry_run=True)
    running = committed_config(_state())
    ctx = review_context(cfg, running, outcome, mask_secrets(pipe.diff(cfg), cfg, running))
    if ctx["summary"]:
        ctx["summary"] += irr_status.new_member_gaps(_state(), running, cfg)
    return render_template("change_review.html", comment=change["comment"], **ctx,
                           edit=change.get("edit") or "",
                           back=change.get("back") or url_for("status.index"))


@bp.post("/apply")
def apply() -> Response:
    """Apply the pending change; the next page shows each stage."""
    change = pending.load(_state(), g.user)
    if change is None:
        return redirect(url_for("status.index"))
    cfg = load_config_text(change["config"])
    state, user = _state(), g.user
    job = jobs.start(state, current_app.config.get("NETNS"), cfg, user, change["comment"],
                     on_success=lambda: pending.clear(state, user))
    return redirect(url_for("changes.progress", job_id=job.id))


@bp.post("/discard")
def discard() -> Response:
    """Forget the pending change."""
    change = pending.load(_state(), g.user) or {}
    pending.clear(_state(), g.user)
    flash(_("The change was discarded; nothing was applied."), "info")
    return redirect(change.get("back") or url_for("status.index"))


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
