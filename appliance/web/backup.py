"""The Backup page (download a backup, admins only) and the restore offered by the setup.

The restore is reached from the setup, after the one-time code and before any admin account
exists (``setup.restore`` calls ``setup_restore``): a freshly flashed box becomes the old one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from appliance.apply_service.client import HelperError, HelperUnavailable
from appliance.backup.archive import MIN_PASSPHRASE, SUFFIX
from appliance.config.committed import committed_config
from appliance.web import accounts, applying
from appliance.web.i18n import gettext as _

bp = Blueprint("backup", __name__, url_prefix="/backup")


def _filename(state: Path) -> str:
    cfg = committed_config(state)
    name = "".join(ch if ch.isalnum() or ch in "-_" else "-"
                   for ch in (cfg.identity.short_name if cfg else "ixp")).strip("-") or "ixp"
    return f"{name}-backup-{datetime.now(UTC):%Y%m%d-%H%M}{SUFFIX}"


@bp.route("", methods=["GET", "POST"])
def index() -> Response | str:
    """A form to download a backup, with an optional passphrase (POST: the file itself)."""
    state = current_app.config["STATE_DIR"]
    errors: dict[str, str] = {}
    if request.method == "POST":
        if g.role != "admin":
            abort(403)
        phrase = request.form.get("passphrase", "")
        if phrase and len(phrase) < MIN_PASSPHRASE:
            errors["passphrase"] = _("Use at least %(num)d characters, or leave it empty for a "
                                     "backup that is not encrypted.", num=MIN_PASSPHRASE)
        elif phrase != request.form.get("passphrase2", ""):
            errors["passphrase2"] = _("The two passphrases differ.")
        if not errors:
            try:  # root's secrets are in it: maybe the helper's
                data = applying.privileged().backup(phrase or None)
            except (HelperError, HelperUnavailable) as exc:  # also: a change is being applied
                errors["backup"] = str(exc)
            else:
                resp = current_app.response_class(data, mimetype="application/octet-stream")
                resp.headers["Content-Disposition"] = \
                    f'attachment; filename="{_filename(state)}"'
                return resp
    return render_template("backup.html", errors=errors), 400 if errors else 200


def setup_restore(proven: Callable[[Path], bool]) -> Response | tuple[str, int] | str:
    """Restore a backup on a box nobody has set up yet (``proven``: typed the setup code)."""
    state = current_app.config["STATE_DIR"]
    if accounts.accounts(state):
        return redirect(url_for("auth.login"))
    if not proven(state):
        session.pop("setup_ok", None)
        return redirect(url_for("setup.code"))
    error = None
    if request.method == "POST":
        upload = request.files.get("backup")
        raw = upload.read() if upload else b""
        if not raw:
            error = _("Choose the backup file (.ixpbackup) to restore.")
        else:
            try:
                # as root, here or in the apply helper: it replaces root's files
                done, outcome = applying.privileged().restore_backup(
                    raw, request.form.get("passphrase") or None)
            except (HelperError, HelperUnavailable) as exc:
                error = str(exc)
            else:
                session.pop("setup_ok", None)
                return render_template("backup_restored.html", done=done, outcome=outcome)
    return render_template("backup_restore.html", error=error), 400 if error else 200
