"""Configuration history: every revision, the diff between two, and rollback (after review)."""

from __future__ import annotations

import difflib
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _

from appliance.config.errors import ConfigError
from appliance.config.loader import load_config_text
from appliance.config.model import IXPConfig
from appliance.config.revisions import Revision, RevisionNotFound, RevisionStore
from appliance.web.changes import store as changes_store
from appliance.web.masking import mask_config_text

bp = Blueprint("history", __name__, url_prefix="/history")


def _store() -> RevisionStore:
    return RevisionStore(current_app.config["STATE_DIR"])


def _refresh_details(revs: list[Revision]) -> dict[int, dict[str, Any]]:
    """For the revisions a data refresh made: its heading and what changed per member, in the
    reader's language (the comment keeps them in English)."""
    from appliance.config.summary import data_change_lines, refresh_heading
    from appliance.route_server.refresh import revision_changes
    from appliance.web.summary import say

    out = {}
    for r in revs:
        if r.author != "refresh":
            continue
        found = revision_changes(current_app.config["STATE_DIR"], r.id)
        if found is not None:
            out[r.id] = {"head": say(refresh_heading(found.get("sources") or [])),
                         "lines": [say(p) for p in data_change_lines(found["changes"])]}
    return out


@bp.get("")
def index() -> str:
    """Revisions, newest first."""
    store = _store()
    revs = list(reversed(store.list()))
    return render_template("history.html", revisions=revs, problems=store.problems,
                           refreshed=_refresh_details(revs))


@bp.get("/diff")
def diff() -> str:
    """Unified diff between revisions ?a=N&b=M (b defaults to the newest)."""
    store = _store()
    try:
        a = store.get(int(request.args.get("a", "0")))
        b_arg = request.args.get("b")
        b = store.get(int(b_arg)) if b_arg else store.latest()
    except (RevisionNotFound, ValueError):
        abort(404)
    if b is None:
        abort(404)
    # Mask each revision on its parsed data before diffing: a secret folded over lines of
    # YAML would slip through masking the diff's lines.
    configs = (_parsed(a.config), _parsed(b.config))
    text = "".join(difflib.unified_diff(
        mask_config_text(a.config, *configs).splitlines(keepends=True),
        mask_config_text(b.config, *configs).splitlines(keepends=True),
        f"revision {a.id}", f"revision {b.id}"))
    return render_template("history_diff.html", a=a, b=b, diff=text)


def _parsed(text: str) -> IXPConfig | None:
    try:
        return load_config_text(text)
    except ConfigError:
        return None


@bp.post("/<int:rev_id>/rollback")
def rollback(rev_id: int) -> Response:
    """Prepare revision ``rev_id``'s configuration as a change to review (with today's
    accounts: a rollback of the network never locks the admins out)."""
    try:
        cand = changes_store().load_revision(rev_id, author=g.user,
                                             comment=f"rollback to revision {rev_id}",
                                             meta={"back": url_for("history.index")})
    except RevisionNotFound:
        abort(404)
    except ConfigError as exc:
        flash(_("Revision %(rev)s cannot be applied again: %(why)s", rev=rev_id,
                why=exc.issues[0]), "error")
        return redirect(url_for("history.index"))
    changes_store().compare(cand)
    return redirect(url_for("changes.show", cand_id=cand.id))
