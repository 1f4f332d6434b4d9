"""Log in and out; sessions expire when idle and after a fixed time."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from appliance.web import accounts
from appliance.web.throttle import FailureThrottle

bp = Blueprint("auth", __name__)

IDLE_SECONDS = 30 * 60
MAX_SECONDS = 12 * 3600
throttle = FailureThrottle(limit=5, window=300)


def start_session(name: str) -> None:
    """Log ``name`` in with a fresh session (no fixation: the old one is dropped)."""
    session.clear()
    now = int(time.time())
    session.update(user=name, login_at=now, seen_at=now)
    session.permanent = True


def current_user() -> accounts.Account | None:
    """The logged-in account, or None when not logged in or the session has expired."""
    name = session.get("user")
    if not name:
        return None
    now = int(time.time())
    if now - int(session.get("seen_at", 0)) > IDLE_SECONDS or \
            now - int(session.get("login_at", 0)) > MAX_SECONDS:
        session.clear()
        flash("Your session expired; please log in again.", "info")
        return None
    account = next((a for a in accounts.accounts(current_app.config["STATE_DIR"])
                    if a.name == name), None)
    if account is None:
        session.clear()  # the user was removed
        return None
    session["seen_at"] = now
    return account


def _safe_next(target: str | None) -> str:
    # Only local paths: an open redirect would help phishing.
    if target and target.startswith("/") and not target.startswith("//") and \
            not urlsplit(target).netloc:
        return target
    return url_for("status.index")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str:
    """The login form."""
    state_dir = current_app.config["STATE_DIR"]
    if not accounts.accounts(state_dir):
        return redirect(url_for("setup.code"))
    error = None
    name = ""
    if request.method == "POST":
        name = request.form.get("name", "").strip()
        keys = (f"ip:{request.remote_addr}", f"user:{name}")
        wait = throttle.retry_after(*keys)
        if wait:
            error = f"Too many failed attempts; try again in {wait} seconds."
        elif accounts.verify(state_dir, name, request.form.get("password", "")):
            throttle.succeeded(*keys)
            start_session(name)
            return redirect(_safe_next(request.args.get("next")))
        else:
            throttle.failed(*keys)
            error = "Wrong user name or password."
    return render_template("login.html", error=error, name=name), 401 if error else 200


@bp.post("/logout")
def logout() -> Response:
    """End the session."""
    session.clear()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))
