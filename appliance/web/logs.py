"""The Logs page (admins only): what the box's services wrote to the system journal, to read
in the browser and to download for whoever helps.

The flashed box has root locked and usually no SSH, so this is how an operator reads the log
of a failed change or a daemon that stops. The web UI cannot read the journal itself: the apply
helper runs journalctl for it (``Privileged.journal``), for one of the box's own units only.
Off the image there is no box journal to read (the host's is not the box's): the page says so.
"""

from __future__ import annotations

import re
import socket
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, abort, current_app, render_template, request

from appliance import __version__
from appliance.apply_service.client import HelperError, HelperUnavailable
from appliance.platform import journal
from appliance.web import applying
from appliance.web.i18n import gettext as _
from appliance.web.i18n import lazy_gettext as _l

bp = Blueprint("logs", __name__, url_prefix="/logs")

# journal.CHOICES in words, in the form's order
UNIT_LABELS = {
    journal.ALL: _l("All the box's services"),
    "ixp-web": _l("Web UI"),
    "ixp-apply": _l("Apply helper (changes, backups, updates)"),
    "ixp-restore": _l("Restore of the configuration at boot"),
    "ixp-data-refresh": _l("IRR and PeeringDB data refresh"),
    "ixp-collector": _l("Traffic collector and alerts"),
    "ixp-snmp": _l("SNMP agent"),
    "ixp-anycast": _l("Anycast helper"),
    "ixp-bird": _l("Route server (BIRD)"),
    "ixp-unbound": _l("Resolver (Unbound)"),
    "ixp-stayrtr": _l("RPKI cache (StayRTR)"),
    "ixp-https": _l("HTTPS front (nginx)"),
    "ixp-report-mail": _l("Monthly report mail"),
    "ixp-state-init": _l("First start (certificate, setup code)"),
    "ixp-firmware-gate": _l("Check after a firmware update"),
    "ixp-firmware-update": _l("Firmware update and reboot"),
    "ixp-rauc": _l("Update slots (RAUC)"),
}
# journalctl -p: that priority and the more urgent ones ("" = every message)
PRIORITY_LABELS = {
    "": _l("Every message"),
    "info": _l("Information and more urgent"),
    "notice": _l("Notices and more urgent"),
    "warning": _l("Warnings and more urgent"),
    "err": _l("Errors and more urgent"),
}


def _query() -> tuple[dict[str, Any], dict[str, str]]:
    """The form's values from the query string, and what is wrong with them (per field)."""
    unit = request.args.get("unit", journal.ALL)
    raw_lines = request.args.get("lines", "").strip() or str(journal.DEFAULT_LINES)
    priority = request.args.get("priority", "")
    errors: dict[str, str] = {}
    if unit not in UNIT_LABELS:
        errors["unit"] = _("Choose one of the services in the list.")
    lines = journal.DEFAULT_LINES
    if raw_lines.isdigit() and len(raw_lines) <= 6 and \
            journal.MIN_LINES <= int(raw_lines) <= journal.MAX_LINES:
        lines = int(raw_lines)
    else:
        errors["lines"] = _("Give a number of lines from %(low)d to %(high)d.",
                            low=journal.MIN_LINES, high=journal.MAX_LINES)
    if priority not in PRIORITY_LABELS:
        errors["priority"] = _("Choose one of the levels in the list.")
    return {"unit": unit, "lines": lines if "lines" not in errors else raw_lines[:12],
            "priority": priority}, errors


def _read(values: dict[str, Any]) -> journal.Lines | None:
    """The journal's lines (None: not on the image); ``HelperError``/``HelperUnavailable``."""
    return applying.privileged().journal(values["unit"], int(values["lines"]),
                                         values["priority"] or None)


@bp.get("")
def index() -> tuple[str, int]:
    """The form (service, lines, level) and the lines it asks for, newest last."""
    values, errors = _query()
    got: journal.Lines | None = None
    problem = None
    status = 400 if errors else 200
    if not errors:
        try:
            got = _read(values)
        except (HelperError, HelperUnavailable) as exc:
            problem, status = str(exc), 503
    return render_template("logs.html", values=values, errors=errors, got=got,
                           problem=problem, units=UNIT_LABELS, priorities=PRIORITY_LABELS,
                           lab=status == 200 and got is None,
                           max_lines=journal.MAX_LINES), status


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9.-]+", "-", socket.gethostname()).strip("-.") or "box"


@bp.get("/download")
def download() -> Response:
    """The same lines as a text file to send to whoever helps (``ixp-logs-HOST-TIME.txt``)."""
    values, errors = _query()
    if errors:
        abort(400, " ".join(errors.values()))
    try:
        got = _read(values)
    except (HelperError, HelperUnavailable) as exc:
        abort(409, str(exc))
    if got is None:
        abort(409, _("These are the logs of the box's system journal; a lab or a developer "
                     "machine has none to show (its services write to the terminal or to "
                     "files of their state directory)."))
    now = datetime.now(UTC)
    host = _host()
    head = (f"# {host}, ixp-appliance {__version__}, {now:%Y-%m-%dT%H:%M:%SZ}\n"
            f"# {' '.join(got.argv)}\n")
    if got.truncated:
        head += f"# only the newest {journal.MAX_BYTES} bytes\n"
    resp = current_app.response_class(head + got.text, mimetype="text/plain")
    resp.headers["Content-Disposition"] = \
        f'attachment; filename="ixp-logs-{host}-{now:%Y%m%dT%H%M%SZ}.txt"'
    return resp
