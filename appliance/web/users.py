"""Admin users: list, add and remove (through review → apply like every change)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    url_for,
)

from appliance.web import accounts
from appliance.web.api import tokens
from appliance.web.changes import prepare, propose
from appliance.web.i18n import gettext as _
from appliance.web.i18n import ngettext
from appliance.web.wizard.candidate import base_data

bp = Blueprint("users", __name__, url_prefix="/users")
_NAME = re.compile(r"[a-z][a-z0-9_.-]{0,63}")


@bp.route("", methods=["GET", "POST"])
def index() -> Response | str:
    """The users, and a form to add one."""
    state = current_app.config["STATE_DIR"]
    errors: dict[str, str] = {}
    name = request.form.get("name", "").strip()
    role = request.form.get("role", "admin")
    asn_text = request.form.get("asn", "").strip()
    if request.method == "POST":
        password = request.form.get("password", "")
        data = base_data(state)
        users = list(data.get("admin_users") or [])
        if not _NAME.fullmatch(name):
            errors["name"] = _("Use lower-case letters, digits, '.', '-' or '_'.")
        elif any(u.get("name") == name for u in users):
            errors["name"] = _("There is already a user '%(name)s'.", name=name)
        if role not in ("admin", "viewer", "member"):
            errors["role"] = _("Choose admin, viewer or member.")
        member_asn = _member_asn(asn_text, role, errors)
        problem = accounts.password_problem(name, password)
        if problem:
            errors["password"] = problem
        if not errors:
            user = {"name": name, "password_hash": accounts.hash_password(password),
                    "role": role}
            if member_asn is not None:
                user["asn"] = member_asn
            users.append(user)
            data["admin_users"] = users
            problems = prepare(data, f"user add {name} ({role})", url_for("users.index"))
            if not isinstance(problems, list):
                return problems  # the review of the prepared change
            for path, message in problems:  # e.g. an ASN that is no member's
                key = path.rsplit(".", 1)[-1] if path.startswith("admin_users[") else "name"
                errors.setdefault(key if key in ("name", "role", "asn") else "name", message)
    return render_template("users.html", users=accounts.committed_accounts(state), errors=errors,
                           name=name, role=role, asn=asn_text, tokens=tokens.load(state),
                           new_token=None, now=datetime.now(UTC), token_days=tokens.LIFETIMES,
                           default_days=tokens.DEFAULT_DAYS), 400 if errors else 200


def _member_asn(text: str, role: str, errors: dict[str, str]) -> int | None:
    """The ASN a member account belongs to (the configuration then checks it is a member)."""
    if role != "member":
        if text:
            errors["asn"] = _("Only a member account has an ASN; leave it empty.")
        return None
    digits = text.upper().removeprefix("AS")
    if not digits.isdigit():
        errors["asn"] = _("Give the ASN of the member this account belongs to, e.g. 64500.")
        return None
    return int(digits)


@bp.post("/tokens")
def new_token() -> str | tuple[str, int]:
    """Make an API token for the logged-in user; its secret is shown this once."""
    state = current_app.config["STATE_DIR"]
    label = request.form.get("label", "").strip()[:60] or "API token"
    scope = request.form.get("scope", "admin")
    days = request.form.get("days", str(tokens.DEFAULT_DAYS))
    errors: dict[str, str] = {}
    if scope not in tokens.SCOPES:
        errors["token_scope"] = _("Choose read (look only) or admin (may change things).")
    if days not in {str(d) for d in tokens.LIFETIMES}:
        lifetimes = [ngettext("%(num)d day", "%(num)d days", d) for d in tokens.LIFETIMES]
        errors["token_days"] = _("Choose how long the token lasts: %(choices)s.",
                                 choices=", ".join(lifetimes))
    secret = None if errors else tokens.create(state, label, g.user, scope=scope,
                                               days=int(days))
    page = render_template("users.html", users=accounts.committed_accounts(state),
                           errors=errors, name="", role="admin", asn="",
                           tokens=tokens.load(state),
                           new_token=secret, now=datetime.now(UTC),
                           token_days=tokens.LIFETIMES, default_days=tokens.DEFAULT_DAYS)
    return (page, 400) if errors else page


@bp.post("/tokens/<token_id>/revoke")
def revoke_token(token_id: str) -> Response:
    """Revoke an API token."""
    if not tokens.revoke(current_app.config["STATE_DIR"], token_id):
        abort(404)
    return redirect(url_for("users.index"))


@bp.post("/<name>/remove")
def remove(name: str) -> Response:
    """Remove a user; never yourself and never the last admin."""
    data = base_data(current_app.config["STATE_DIR"])
    users = list(data.get("admin_users") or [])
    if not any(u.get("name") == name for u in users):
        abort(404)
    rest = [u for u in users if u.get("name") != name]
    if name == g.user or not any(u.get("role", "admin") == "admin" for u in rest):
        abort(409, "You cannot remove yourself or the last admin.")
    data["admin_users"] = rest
    return propose(data, f"user remove {name}", url_for("users.index"))
