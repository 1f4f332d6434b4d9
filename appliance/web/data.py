"""The Data page: the offline data sets (IRR, RPKI VRPs, root zone copy, PeeringDB dump).

The box is often offline, so each set can be uploaded here (admins only). An upload is checked
by the code that already reads that set (see :mod:`appliance.web.offline_data`); a bad file
is refused with the reason and changes nothing. After an upload, what uses the data follows:
IRR data and a PeeringDB dump re-apply the committed config, VRPs restart this box's stayrtr,
a root zone copy makes a running resolver reload.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

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

from appliance.config.committed import committed_config
from appliance.util.lock import LockBusy
from appliance.web import jobs, offline_data
from appliance.web.where import current_target
from appliance.web.wizard.candidate import base_data

if TYPE_CHECKING:
    from appliance.config.model import IXPConfig

bp = Blueprint("data", __name__, url_prefix="/data")


def _state() -> Path:
    return Path(current_app.config["STATE_DIR"])


def _anchors() -> list[Path] | None:
    # Tests sign their own root zone; the box uses unbound's trust anchor.
    anchor = current_app.config.get("ROOT_ZONE_TRUST_ANCHOR")
    return [Path(anchor)] if anchor else None


def _refresh_view(state: Path) -> dict[str, Any] | None:
    """The route server's data refresh as the page shows it: the schedule, each source's age
    (stale or not), its last attempt and failure, and what the last refresh changed."""
    from babel.dates import format_timedelta

    from appliance.config.summary import data_change_lines
    from appliance.route_server.status import data_freshness
    from appliance.web.i18n import current_locale
    from appliance.web.summary import say

    cfg = committed_config(state)
    if cfg is None:
        return None
    fresh = data_freshness(state, cfg)
    rows = []
    for source, title in (("irr", _("IRR prefix lists (bgpq4)")),
                          ("peeringdb", _("PeeringDB data"))):
        s = fresh[source]
        age = s["age_seconds"]
        rows.append({"kind": source, "title": title, "stale": s["stale"],
                     "age": format_timedelta(age, locale=current_locale())
                     if age is not None else None,
                     "last_attempt": s["last_attempt"], "last_success": s["last_success"],
                     "error": s["error"]})
    last = fresh["refresh"]["last"] or {}
    return {"settings": cfg.route_server.refresh, "rows": rows, "last": last,
            "stale_days": cfg.route_server.refresh.stale_days,
            "changes": [say(p) for p in data_change_lines(last.get("changes") or [])]}


@bp.get("")
def index() -> str:
    """Each offline data set: loaded or not, age, size; and what is not active without it."""
    state = _state()
    return render_template("data.html", sets=offline_data.data_sets(state),
                           missing=offline_data.missing_protections(state,
                                                                    committed_config(state)),
                           refresh=_refresh_view(state))


@bp.post("/<kind>")
def upload(kind: str) -> Response:
    """Take an upload of one data set (``kind`` is irr, rpki, rootzone or peeringdb)."""
    if kind not in offline_data.KINDS:
        abort(404)
    upload_file = request.files.get("file")
    name = (upload_file.filename if upload_file else "") or _("the file")
    raw = upload_file.read() if upload_file else b""
    state = _state()
    try:
        if kind == "irr":
            message = offline_data.import_irr(state, raw, name)
        elif kind == "rpki":
            message = offline_data.import_rpki(current_target(), raw, name)
        elif kind == "rootzone":
            message = offline_data.import_root_zone(state, raw, name, _anchors())
        else:
            message = offline_data.import_peeringdb(state, raw, name)
    except offline_data.DataLoadError as exc:
        flash(str(exc), "error")
        return redirect(url_for("data.index") + f"#{kind}")
    except LockBusy as exc:
        # the lock's own sentence (appliance.util.lock) is English
        flash(_("%(why)s; nothing was changed, upload again in a moment.", why=exc), "error")
        return redirect(url_for("data.index") + f"#{kind}")
    flash(message, "info")
    cfg = committed_config(state)
    if kind in ("irr", "peeringdb", "rpki") and cfg is not None:
        # The route server's filters are rendered from the IRR data, the PeeringDB dump
        # (never-via-route-servers, published max-prefix) and the VRP file's ASPA records:
        # re-apply to use them now.
        what = {"irr": "IRR data", "peeringdb": "PeeringDB dump", "rpki": "VRP file"}[kind]
        comment = f"{what} imported from {name}"
        if kind == "rpki" and not cfg.route_server.rpki_validators:
            # VRPs on a box whose route server asks no validator would be unused: the box's
            # own RTR server is what the upload is for
            cfg = with_local_validator(state, cfg)
            comment += "; this box's RTR server added to route_server.rpki_validators"
            flash(_("The route server now asks this box's RTR server for them (127.0.0.1 "
                    "port 3323, added to route_server.rpki_validators by this change)."),
                  "info")
        job = jobs.start(current_target(), cfg, g.user, comment)
        return redirect(url_for("changes.progress", job_id=job.id))
    return redirect(url_for("data.index") + f"#{kind}")


def with_local_validator(state: Path, cfg: IXPConfig) -> IXPConfig:
    """The committed ``cfg`` with this box's stayrtr (127.0.0.1:3323) as the route server's
    RTR validator (from the revision's own data: no default is written out)."""
    data = base_data(state)
    data.setdefault("route_server", {})["rpki_validators"] = [
        {"host": "127.0.0.1", "port": 3323}]
    return type(cfg).model_validate(data)


@bp.app_context_processor
def _data_context() -> dict[str, Any]:
    """``missing_protections()`` for every template (the dashboard's _data_warning.html)."""
    def missing_protections() -> list[offline_data.MissingProtection]:
        """What is not active for lack of data; none when nobody is logged in."""
        if not getattr(g, "user", None):
            return []
        state = _state()
        return offline_data.missing_protections(state, committed_config(state))
    return {"missing_protections": missing_protections}
