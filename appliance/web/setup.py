"""First boot: nothing can be configured until someone proves they can read the console."""

from __future__ import annotations

import re

from flask import (
    Blueprint,
    Response,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from appliance.web import accounts, draft, secrets_store
from appliance.web.auth import start_session
from appliance.web.throttle import FailureThrottle

bp = Blueprint("setup", __name__, url_prefix="/setup")
throttle = FailureThrottle(limit=5, window=300)


@bp.route("", methods=["GET", "POST"])
def code() -> Response | str:
    """Ask for the one-time setup code shown on the box's console."""
    state_dir = current_app.config["STATE_DIR"]
    if accounts.accounts(state_dir):
        return redirect(url_for("auth.login"))
    secrets_store.setup_code(state_dir)  # make sure one exists for the console to show
    error = None
    if request.method == "POST":
        key = f"ip:{request.remote_addr}"
        wait = throttle.retry_after(key)
        if wait:
            error = f"Too many wrong codes; try again in {wait} seconds."
        elif secrets_store.setup_code_matches(state_dir, request.form.get("code", "")):
            throttle.succeeded(key)
            session.clear()
            session["setup_ok"] = True
            return redirect(url_for("setup.admin"))
        else:
            throttle.failed(key)
            error = ("That is not the setup code. It is shown on the box's screen and serial "
                     "console.")
    return render_template("setup_code.html", error=error), 401 if error else 200


@bp.route("/admin", methods=["GET", "POST"])
def admin() -> Response | str:
    """Create the first admin account (kept in the wizard's draft until the config is applied)."""
    state_dir = current_app.config["STATE_DIR"]
    if accounts.accounts(state_dir):
        return redirect(url_for("auth.login"))
    if not session.get("setup_ok"):
        return redirect(url_for("setup.code"))
    errors: dict[str, str] = {}
    name = request.form.get("name", "admin").strip()
    if request.method == "POST":
        password = request.form.get("password", "")

        if not re.fullmatch(r"[a-z][a-z0-9_.-]{0,63}", name):
            errors["name"] = ("Use lower-case letters, digits, '.', '-' or '_', starting with "
                              "a letter.")
        problem = accounts.password_problem(name, password)
        if problem:
            errors["password"] = problem[0].upper() + problem[1:] + "."
        elif password != request.form.get("password2", ""):
            errors["password2"] = "The two passwords differ."
        if not errors:
            data = draft.load(state_dir)
            data["admin"] = {"name": name, "password_hash": accounts.hash_password(password)}
            draft.save(state_dir, data)
            start_session(name)
            return redirect(url_for("wizard.step", name="identity"))
    return render_template("setup_admin.html", errors=errors, name=name), 400 if errors else 200
