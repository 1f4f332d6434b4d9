"""Log in and out; sessions expire when idle and after a fixed time, and end for good on
logout or a password change (the server keeps each open session: web/sessions.py).

Password guessing is throttled per client address (``SOURCE_LIMIT`` attempts in 5 minutes, any
names) and per address and user name (5), never per user name alone: a stranger's guesses
must not lock an admin out. Each attempt is counted before the password is checked, and at
most ``accounts.MAX_PASSWORD_CHECKS`` checks run at once; a login beyond that gets 429 at once.
"""

from __future__ import annotations

import hashlib
import time
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from appliance.web import accounts, i18n, sessions
from appliance.web.i18n import gettext as _
from appliance.web.i18n import ngettext
from appliance.web.throttle import FailureThrottle

bp = Blueprint("auth", __name__)

IDLE_SECONDS = 30 * 60
MAX_SECONDS = 12 * 3600
SOURCE_LIMIT = 20  # attempts per client address, whatever the names
MAX_NAME = 64  # no account name is longer (config: admin_users[].name)
throttle = FailureThrottle(limit=5, window=300)  # per address and user name
source_throttle = FailureThrottle(limit=SOURCE_LIMIT, window=300)  # per address


def start_session(name: str) -> None:
    """Log ``name`` in with a fresh session (no fixation: the old one is dropped), recorded on
    the server so that logout and a password change can end it (web/sessions.py)."""
    state_dir = current_app.config["STATE_DIR"]
    account = next((a for a in accounts.accounts(state_dir) if a.name == name), None)
    if account is None:
        raise LookupError(f"no account {name!r} to log in")
    i18n.clear_session()
    now = int(time.time())
    sid = sessions.open_session(state_dir, name, account.password_hash)
    session.update(user=name, sid=sid, login_at=now, seen_at=now)
    session.permanent = True


def current_user() -> accounts.Account | None:
    """The logged-in account, or None when not logged in or the session has ended (expired,
    logged out, password changed, user removed)."""
    name = session.get("user")
    if not name:
        return None
    now = int(time.time())
    if now - int(session.get("seen_at", 0)) > IDLE_SECONDS or \
            now - int(session.get("login_at", 0)) > MAX_SECONDS:
        i18n.clear_session()
        flash(_("Your session expired; please log in again."), "info")
        return None
    state_dir = current_app.config["STATE_DIR"]
    account = next((a for a in accounts.accounts(state_dir) if a.name == name), None)
    if account is None:
        i18n.clear_session()  # the user was removed
        return None
    sid = session.get("sid")
    if not isinstance(sid, str) or not sessions.is_open(state_dir, sid, name,
                                                        account.password_hash):
        i18n.clear_session()
        flash(_("Your session has ended (logged out, or the password changed); please log "
                "in again."), "info")
        return None
    session["seen_at"] = now
    return account


def _safe_next(target: str | None, account: accounts.Account | None = None) -> str:
    # Only local paths: an open redirect would help phishing.
    if target and target.startswith("/") and not target.startswith("//") and \
            not urlsplit(target).netloc:
        return target
    if account is not None and account.role == "member":
        return url_for("member.report", asn=account.asn)  # its own pages only
    return url_for("status.index")


def _pair_key(source: str, name: str) -> str:
    # A digest, not the name: the key stays short whatever was typed.
    return f"{source}|{hashlib.sha256(name.encode()).hexdigest()[:24]}"


def _refused(error: str, name: str, wait: int) -> Response:
    resp = make_response(render_template("login.html", error=error, name=name[:MAX_NAME]), 429)
    resp.headers["Retry-After"] = str(wait)
    return resp


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str | tuple[str, int]:
    """The login form."""
    state_dir = current_app.config["STATE_DIR"]
    if not accounts.accounts(state_dir):
        return redirect(url_for("setup.code"))
    if request.method == "GET":
        return render_template("login.html", error=None, name="")
    name = request.form.get("name", "").strip()
    source = request.remote_addr or "unknown"
    pair = _pair_key(source, name)
    # Counted first, in one step each: concurrent guesses cannot all pass a check made before
    # any of them failed.
    wait = source_throttle.attempt(source)
    if not wait:
        wait = throttle.attempt(pair)
        if wait:
            source_throttle.forgive(source)
    if wait:
        return _refused(ngettext("Too many failed attempts; try again in %(num)d second.",
                                 "Too many failed attempts; try again in %(num)d seconds.",
                                 wait), name, wait)
    account = None
    if len(name) <= MAX_NAME:  # a longer name is no account's: no need to check a password
        try:
            account = accounts.verify(state_dir, name, request.form.get("password", ""))
        except accounts.ChecksBusy:
            source_throttle.forgive(source)  # nothing was checked: not a failure
            throttle.forgive(pair)
            return _refused(_("The box is checking other logins right now; try again in "
                              "a moment."), name, 1)
    if account is None:
        return render_template("login.html", error=_("Wrong user name or password."),
                               name=name[:MAX_NAME]), 401
    source_throttle.forgive(source)  # a right password is not a guess
    throttle.succeeded(pair)
    start_session(name)
    return redirect(_safe_next(request.args.get("next"), account))


@bp.post("/logout")
def logout() -> Response:
    """End the session, also on the server: a copy of the cookie is worthless afterwards."""
    sid = session.get("sid")
    if isinstance(sid, str):
        sessions.end(current_app.config["STATE_DIR"], sid)
    i18n.clear_session()
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))
