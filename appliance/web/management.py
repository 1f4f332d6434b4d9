"""The Management page: the box's own name, addresses, DNS, NTP and time zone, after the wizard.

Shows what is configured next to what runs, and lets an admin change it through the usual
review → apply. A new address runs on trial (appliance/management/trial.py); this page, opened
through the new address, is where the trial is confirmed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from appliance.config.committed import committed_config
from appliance.management import trial
from appliance.management.status import management_status
from appliance.platform.target import IMAGE_MARKER
from appliance.web.changes import prepare
from appliance.web.forms import FormField, deep_merge, field_for_issue, form_to_data, get_path
from appliance.web.nics import nic_rows
from appliance.web.where import current_target
from appliance.web.wizard import management_choices
from appliance.web.wizard.candidate import base_data
from appliance.web.wizard.steps import STEP_BY_NAME, TIME_ZONES

bp = Blueprint("management", __name__, url_prefix="/management")

FIELDS: tuple[FormField, ...] = (*STEP_BY_NAME["management"].fields, FormField(
    "trial_seconds", _l("Trial time (seconds)"), _l("How long a new address waits for your "
    "confirmation from it before the box goes back to the old one."), kind="number",
    placeholder="120"))


def _state() -> Path:
    return Path(current_app.config["STATE_DIR"])


def _on_box() -> bool:
    """Whether this app manages the host it runs on (the image, not a lab)."""
    return current_target().netns is None and IMAGE_MARKER.exists()


def reached_at() -> str | None:
    """The box's own address this request came in through.

    Behind the image's nginx, the one header it sets from ``$server_addr`` (it overwrites
    any sent by the client); on the developer runner, the address in the Host header.
    """
    if os.environ.get("IXP_HTTPS") == "1":
        return request.headers.get("X-Server-Addr")
    host = request.host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host.split("]")[0].lstrip("[")


def _values(data: dict[str, Any]) -> dict[str, str]:
    """The form's values: the running settings with their defaults spelled out."""
    cfg = committed_config(_state())
    section = cfg.management.model_dump(mode="json") if cfg is not None else (
        data.get("management") or {})
    out = {}
    for f in FIELDS:
        value = get_path(section, f.key)
        out[f.key] = " ".join(map(str, value)) if isinstance(value, list) else (
            "" if value is None else str(value))
    return out


@bp.get("")
def index() -> str:
    """Configured and running management settings, the trial if one runs, and the form."""
    return _page(_values(base_data(_state())), {}, [])


def _page(values: dict[str, str], errors: dict[str, str], general: list[str],
          status: int = 200) -> Any:
    state = _state()
    cfg = committed_config(state)
    info = management_status(state, cfg, on_image=_on_box())
    rows = nic_rows(current_target(), cfg)
    choices = {"interface": management_choices(rows, values.get("interface", "")),
               "timezone": list(TIME_ZONES)}
    if values.get("timezone") and values["timezone"] not in {v for v, _ in TIME_ZONES}:
        choices["timezone"].insert(0, (values["timezone"], values["timezone"]))
    return render_template("management.html", info=info, fields=FIELDS, values=values,
                           errors=errors, general=general, choices=choices,
                           reached_at=reached_at()), status


@bp.post("")
def save() -> Any:
    """Check the form, then keep the change for review (Apply is on the review page)."""
    values = {f.key: request.form.get(f.key, "") for f in FIELDS}
    data = base_data(_state())
    # fields left empty fall back to the model's defaults, as in the wizard
    section = {k: v for k, v in (data.get("management") or {}).items()
               if k not in {f.key for f in FIELDS}}
    data["management"] = deep_merge(section, form_to_data(FIELDS, values))
    errors: dict[str, str] = {}
    general: list[str] = []
    problems = prepare(data, "management settings", url_for("management.index"),
                       url_for("management.index"))
    if not isinstance(problems, list):
        return problems  # the review of the prepared change
    for path, message in problems:
        text = message[0].upper() + message[1:] if message else message
        key = field_for_issue(FIELDS, path.removeprefix("management."))
        if path.startswith("management.") and key:
            errors.setdefault(key, text if text.endswith(".") else text + ".")
        else:
            general.append(f"{path}: {message}" if path else message)
    return _page(values, errors, general, 400)


@bp.post("/confirm")
def confirm() -> Response:
    """Keep the addresses on trial: this request came in through the new one."""
    from appliance.apply_service.client import HelperError, HelperUnavailable
    from appliance.web.applying import privileged

    try:
        kept = privileged().confirm_trial(reached_at())  # its files are root's
    except (HelperError, HelperUnavailable) as exc:
        flash(str(exc)[0].upper() + str(exc)[1:] + ".", "error")
        return redirect(url_for("management.index"), 303)
    # describe() is appliance.management's, in English (addresses and NIC names mostly)
    flash(_("Confirmed: the box keeps %(what)s.", what=kept), "info")
    return redirect(url_for("management.index"), 303)


@bp.get("/status.json")
def status_json() -> Response:
    """The same as the page, for scripts (and the trial countdown)."""
    state = _state()
    return jsonify(management_status(state, committed_config(state), on_image=_on_box()))


def trial_notice(state: Path) -> dict[str, Any] | None:
    """The trial running now, for the notice every page shows (None without one)."""
    pending = trial.pending(state)
    return pending.as_dict() if pending else None
