"""One member's own pages: its report card and its onboarding checklist, with the one-click
release of its port from quarantine (admins; through the change flow, so the history says
who released it). A member account (role member) sees these for its own ASN only
(web/roles.py)."""

from __future__ import annotations

import copy
from pathlib import Path
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
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from appliance.config.committed import committed_config
from appliance.monitor.onboarding import QUIET_SECONDS, checklist
from appliance.monitor.report import member_report
from appliance.web.changes import apply_now
from appliance.web.filters import ROUTE_WORDS
from appliance.web.onboarding import in_words
from appliance.web.report_mail import aspa_sentence
from appliance.web.where import current_target
from appliance.web.wizard.candidate import base_data

bp = Blueprint("member", __name__, url_prefix="/member")

# Why no monthly report goes out (alerts/monthly.py ``off_reason``), in words.
MAIL_OFF = {
    "alerts_off": _l("the alerts are off"),
    "report_off": _l("the monthly report is switched off on the Alerts page"),
    "no_mail": _l("the alert mail is not set up (Alerts page), and the report goes through "
                  "its relay"),
}


def _state() -> Path:
    return current_app.config["STATE_DIR"]


def onboarding_of(asn: int) -> dict[str, Any] | None:
    """The checklist of ``asn`` in the reader's words (None: no such member)."""
    cfg = committed_config(_state())
    if cfg is None:
        return None
    result = checklist(current_target(), cfg, asn,
                       quiet_seconds=float(current_app.config.get("ONBOARDING_QUIET_SECONDS",
                                                                  QUIET_SECONDS)))
    return in_words(result) if result is not None else None


def report_of(asn: int) -> dict[str, Any] | None:
    """The report card of ``asn`` (None: no such member)."""
    cfg = committed_config(_state())
    if cfg is None:
        return None
    return member_report(current_target(), cfg, asn)


def released(data: dict[str, Any], asn: int) -> dict[str, Any] | None:
    """``data`` with every entry of member ``asn`` out of quarantine; None when none is in."""
    out = copy.deepcopy(data)
    found = False
    for m in out.get("members") or []:
        if str(m.get("asn")) == str(asn) and m.get("quarantine"):
            m.pop("quarantine")
            found = True
    return out if found else None


@bp.get("")
def home() -> Response:
    """A member account's start page is its report card; everyone else's the member list."""
    if g.role == "member":
        return redirect(url_for("member.report", asn=g.asn))
    return redirect(url_for("members.index"))


@bp.get("/<int:asn>")
def report(asn: int) -> str:
    """The member's report card: sessions, prefixes, RPKI and IRR coverage, traffic."""
    card = report_of(asn)
    if card is None:
        abort(404)
    reasons = {k: str(ROUTE_WORDS.get(k, k)) for k in card["filtered_by_reason"]}
    return render_template("member_report.html", card=card, reasons=reasons,
                           aspa_line=aspa_sentence(card["aspa"]),
                           route_words=ROUTE_WORDS, mail=report_mail_status(asn),
                           mail_off=MAIL_OFF)


def report_mail_status(asn: int) -> dict[str, Any] | None:
    """The monthly report mail of ``asn``: does it get one, the last sent, the last failure."""
    from appliance.alerts.monthly import member_status

    cfg = committed_config(_state())
    return member_status(_state(), cfg, asn) if cfg is not None else None


@bp.post("/<int:asn>/report-mail/test")
def report_mail_test(asn: int) -> Response:
    """Send the member's monthly report now, marked TEST, to the alert recipients (admins):
    what its NOC will get, without sending it to the NOC or counting it as sent."""
    from appliance.apply_service.client import HelperError, HelperUnavailable
    from appliance.web.applying import privileged
    from appliance.web.report_mail import composer

    cfg = committed_config(_state())
    if cfg is None or not cfg.member_by_asn(asn):
        abort(404)
    back = url_for("member.report", asn=asn) + "#report-mail"
    if not cfg.alerts.email.enabled:
        flash(_("The monthly report needs the alert mail: set up e-mail on the Alerts page "
                "first."), "error")
        return redirect(back, 303)
    try:
        # the mail relay's password and the delivery log are root's: maybe the helper's
        outcome = privileged().report_test(cfg, composer(cfg.identity.language), asn)
    except (HelperError, HelperUnavailable, ValueError) as exc:
        outcome = {"error": str(exc)}
    if outcome.get("error") is None:
        flash(_("Test report of %(month)s sent to %(to)s.", month=outcome["month"],
                to=", ".join(outcome["to"])), "info")
    else:
        flash(_("The test report failed: %(problem)s", problem=outcome["error"]), "error")
    return redirect(back, 303)


@bp.get("/<int:asn>/onboarding")
def onboarding(asn: int) -> str:
    """The onboarding checklist the box runs by itself, and the release button."""
    result = onboarding_of(asn)
    if result is None:
        abort(404)
    return render_template("member_onboarding.html", ob=result)


@bp.post("/<int:asn>/release")
def release(asn: int) -> Response:
    """Release the member's port from quarantine (admins), once every check is green."""
    result = onboarding_of(asn)
    if result is None:
        abort(404)
    data = released(base_data(_state()), asn)
    if data is None:
        flash(_("AS%(asn)s is not in quarantine.", asn=asn), "info")
        return redirect(url_for("member.onboarding", asn=asn))
    if not result["ready"]:
        flash(_("Not released: some checks are red. The member must fix what they say "
                "first."), "error")
        return redirect(url_for("member.onboarding", asn=asn))
    return apply_now(data, f"member release AS{asn} {result['name']} from quarantine "
                           "(onboarding checklist green)",
                     url_for("member.onboarding", asn=asn))
