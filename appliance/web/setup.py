"""First boot: nothing can be configured until someone proves they can read the console.

The proof (``setup_ok`` in the session) names the setup code it was made with and expires after
``SETUP_SECONDS``: a cookie from an earlier setup, or from a code since replaced, proves
nothing. Creating the first admin is done under a lock, so of two people only the first
succeeds. Once a committed revision has had an admin the setup never opens again (the
pipeline refuses a configuration that removes the last one; this is the second line).
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from appliance.config.revisions import RevisionStore
from appliance.web import accounts, draft, i18n, secrets_store
from appliance.web.auth import start_session
from appliance.web.i18n import gettext as _
from appliance.web.i18n import ngettext
from appliance.web.throttle import FailureThrottle

bp = Blueprint("setup", __name__, url_prefix="/setup")
throttle = FailureThrottle(limit=5, window=300)
SETUP_SECONDS = 15 * 60  # from typing the code to choosing the admin's password
_clock = time.time  # tests move it


def _code_tag(state_dir: Path) -> str:
    # The session cookie is signed, not encrypted: keep a keyed digest of the code in it.
    code = secrets_store.setup_code(state_dir).encode()
    return hmac.new(current_app.config["SECRET_KEY"], code, hashlib.sha256).hexdigest()


def _proven(state_dir: Path) -> bool:
    """Whether this session typed the current setup code, recently."""
    ok = session.get("setup_ok")
    if not isinstance(ok, dict):
        return False
    fresh = 0 <= _clock() - float(ok.get("at", 0)) <= SETUP_SECONDS
    return fresh and hmac.compare_digest(str(ok.get("code", "")), _code_tag(state_dir))


def _admin_revision(state_dir: Path) -> int | None:
    """The newest committed revision that had an admin, if any did."""
    store = RevisionStore(state_dir)
    for rev in reversed(store.list()):
        try:
            data = yaml.safe_load(rev.config) or {}
        except yaml.YAMLError:
            continue
        users = data.get("admin_users") if isinstance(data, dict) else None
        if isinstance(users, list) and any(isinstance(u, dict) and u.get("role", "admin")
                                           == "admin" for u in users):
            return rev.id
    return None


def _closed_if_admin_existed(state_dir: Path) -> None:
    rev = _admin_revision(state_dir)
    if rev is not None:
        abort(409, f"The setup is closed: revision {rev} had an admin, and the committed "
                   "configuration has none. From the box's console, apply one that has an "
                   f"admin again (e.g. 'ixpctl rollback {rev}').")


@contextmanager
def _setup_lock(state_dir: Path) -> Iterator[None]:
    """One first-admin creation at a time, across the web service's processes."""
    path = secrets_store.web_dir(state_dir) / "setup.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@bp.route("", methods=["GET", "POST"])
def code() -> Response | str:
    """Ask for the one-time setup code shown on the box's console."""
    state_dir = current_app.config["STATE_DIR"]
    if accounts.accounts(state_dir):
        return redirect(url_for("auth.login"))
    _closed_if_admin_existed(state_dir)
    secrets_store.setup_code(state_dir)  # make sure one exists for the console to show
    error = None
    if request.method == "POST":
        key = f"ip:{request.remote_addr}"
        wait = throttle.retry_after(key)
        if wait:
            error = ngettext("Too many wrong codes; try again in %(num)d second.",
                             "Too many wrong codes; try again in %(num)d seconds.", wait)
        elif secrets_store.setup_code_matches(state_dir, request.form.get("code", "")):
            throttle.succeeded(key)
            i18n.clear_session()
            session["setup_ok"] = {"code": _code_tag(state_dir), "at": int(_clock())}
            return redirect(url_for("setup.admin"))
        else:
            throttle.failed(key)
            error = _("That is not the setup code. It is shown on the box's screen and "
                      "serial console.")
    return render_template("setup_code.html", error=error), 401 if error else 200


@bp.route("/admin", methods=["GET", "POST"])
def admin() -> Response | str:
    """Create the first admin account (kept in the wizard's draft until the config is applied)."""
    state_dir = current_app.config["STATE_DIR"]
    if accounts.accounts(state_dir):
        return redirect(url_for("auth.login"))
    _closed_if_admin_existed(state_dir)
    if not _proven(state_dir):
        session.pop("setup_ok", None)
        return redirect(url_for("setup.code"))
    errors: dict[str, str] = {}
    name = request.form.get("name", "admin").strip()
    if request.method == "POST":
        password = request.form.get("password", "")

        if not re.fullmatch(r"[a-z][a-z0-9_.-]{0,63}", name):
            errors["name"] = _("Use lower-case letters, digits, '.', '-' or '_', starting "
                               "with a letter.")
        problem = accounts.password_problem(name, password)
        if problem:
            errors["password"] = problem
        elif password != request.form.get("password2", ""):
            errors["password2"] = _("The two passwords differ.")
        if not errors:
            password_hash = accounts.hash_password(password)  # slow: before taking the lock
            with _setup_lock(state_dir):
                # Checked again under the lock: of two people at this step only the first
                # creates the admin; the second is sent to the login.
                if accounts.accounts(state_dir) or not _proven(state_dir):
                    session.pop("setup_ok", None)
                    return redirect(url_for("auth.login"))
                data = draft.load(state_dir)
                data["admin"] = {"name": name, "password_hash": password_hash}
                draft.save(state_dir, data)
            start_session(name)
            return redirect(url_for("wizard.step", name="identity"))
    return render_template("setup_admin.html", errors=errors, name=name), 400 if errors else 200


@bp.route("/restore", methods=["GET", "POST"])
def restore() -> Response | tuple[str, int] | str:
    """Restore from a backup instead of creating an admin (offered right after the code)."""
    from appliance.web.backup import setup_restore  # only this page needs the backup code

    return setup_restore(_proven)
