"""The Alerts page: open and past alerts, a test message per channel, and the alert settings
(rules, thresholds, channels) changed through the usual review → apply (docs/alerts.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from appliance.alerts.status import alerts_status
from appliance.config.committed import committed_config
from appliance.web.changes import prepare
from appliance.web.forms import FormField, as_bool, deep_merge, field_for_issue, get_path, prune
from appliance.web.wizard.candidate import base_data

bp = Blueprint("alerts", __name__, url_prefix="/alerts")

# Each rule: its title, and its threshold's field and label (None: on or off only).
RULES: tuple[tuple[str, Any, str | None, Any], ...] = (
    ("session_down", _l("A member's BGP session is down"), "minutes", _l("after (minutes)")),
    ("max_prefix", _l("A member tripped its max-prefix limit"), None, None),
    ("port_down", _l("A member's port is down"), "minutes", _l("after (minutes)")),
    ("hygiene_drops", _l("A member sends frames the peering LAN drops"), "per_minute",
     _l("above (frames per minute)")),
    ("filtered_routes", _l("A member announces RPKI Invalid or IRR-unregistered routes"),
     "minutes", _l("after (minutes)")),
    ("filter_data_stale", _l("The route server's RPKI or IRR data is old"), "days",
     _l("older than (days)")),
    ("anycast_withdrawn", _l("The resolver's anycast announcement is withdrawn"), "minutes",
     _l("after (minutes)")),
    ("root_zone_stale", _l("The local root copy is stale"), None, None),
    ("disk_full", _l("The data disk is almost full"), "percent", _l("above (%)")),
    ("firmware_rolled_back", _l("A firmware update was rolled back"), None, None),
    ("config_applied", _l("A configuration was applied (information)"), None, None),
)
RULE_TITLES = {name: title for name, title, _k, _t in RULES}
SEVERITIES = {"critical": _l("critical"), "warning": _l("warning"), "notice": _l("notice"),
              "info": _l("information")}
KINDS = {"firing": _l("open"), "resolved": _l("resolved"), "event": _l("event"),
         "test": _l("test message"), "report": _l("monthly report")}

CHANNEL_FIELDS: tuple[FormField, ...] = (
    FormField("quiet_minutes", _l("Quiet period (minutes)"), _l(
        "The same alert that comes back within this time after it was sent is recorded "
        "but not sent again (a flapping session is one message)."), kind="number",
        placeholder="30"),
    FormField("email.enabled", _l("Send alerts by e-mail"), kind="checkbox", parse=as_bool),
    FormField("email.relay", _l("SMTP relay"), _l("Your mail server's name or address."),
              placeholder="smtp.example.net"),
    FormField("email.port", _l("SMTP port"), kind="number", placeholder="587"),
    FormField("email.starttls", _l("Use STARTTLS (the certificate is checked)"),
              kind="checkbox", parse=as_bool),
    FormField("email.username", _l("SMTP user name"), _l("Empty: the relay takes mail "
              "without a login.")),
    FormField("email.smtp_password", _l("SMTP password"), _l("Empty: keep the one set."),
              kind="password"),
    FormField("email.sender", _l("Sender address"), kind="email",
              placeholder="ixp@example.net"),
    FormField("email.recipients", _l("Recipients"), _l("Addresses separated by spaces or "
              "commas.")),
    FormField("monthly_report.enabled", _l("Mail each member its monthly report card"), _l(
        "On the 1st of each month, to each member's NOC address (noc_email), through this "
        "relay; a member opts out with monthly_report: false."), kind="checkbox",
        parse=as_bool),
    FormField("monthly_report.copy_to_operator", _l("A hidden copy of each report to the "
              "recipients"), kind="checkbox", parse=as_bool),
    FormField("webhooks.0.url", _l("Webhook URL"), _l("Each alert is POSTed there as JSON. "
              "Empty: no webhook."), placeholder="https://chat.example.net/hook"),
    FormField("webhooks.0.hmac_secret", _l("Webhook signing secret"), _l(
        "At least 16 characters; the X-IXP-Signature header then carries the HMAC-SHA256 of "
        "the body. Empty: keep the one set."), kind="password"),
    FormField("syslog.0.host", _l("Syslog server"), _l("RFC 5424 messages. Empty: no remote "
              "syslog."), placeholder="192.0.2.20"),
    FormField("syslog.0.port", _l("Syslog port"), kind="number", placeholder="514"),
    FormField("syslog.0.transport", _l("Syslog transport"), kind="select",
              choices=(("udp", "UDP"), ("tcp", "TCP"))),
    FormField("snmp_managers.0.host", _l("SNMP manager"), _l("Gets SNMPv2c traps. Empty: no "
              "traps."), placeholder="192.0.2.21"),
    FormField("snmp_managers.0.port", _l("SNMP manager's port"), kind="number",
              placeholder="162"),
    FormField("snmp_managers.0.community", _l("Trap community"), _l("Empty: keep the one "
              "set."), kind="password"),
)
SECRETS = ("email.smtp_password", "webhooks.0.hmac_secret", "snmp_managers.0.community")
LISTS = {"email.recipients"}


def _state() -> Path:
    return Path(current_app.config["STATE_DIR"])


def rule_fields() -> tuple[FormField, ...]:
    """A checkbox per rule, and its threshold."""
    out = []
    for name, title, key, label in RULES:
        out.append(FormField(f"rules.{name}.enabled", title, kind="checkbox", parse=as_bool))
        if key:
            out.append(FormField(f"rules.{name}.{key}", label, kind="number"))
    return tuple(out)


def _section() -> dict[str, Any]:
    cfg = committed_config(_state())
    if cfg is not None:
        return cfg.alerts.model_dump(mode="json")
    from appliance.config.model import Alerts

    return Alerts().model_dump(mode="json")


def _values(section: dict[str, Any]) -> dict[str, str]:
    values = {}
    for f in (*rule_fields(), *CHANNEL_FIELDS):
        v = get_path(section, f.key)
        if f.key in SECRETS:
            v = ""  # never sent back to the browser
        if f.kind == "checkbox":
            values[f.key] = "on" if v else ""
        else:
            values[f.key] = " ".join(map(str, v)) if isinstance(v, list) else (
                "" if v is None else str(v))
    return values


def _page(values: dict[str, str], errors: dict[str, str], general: list[str],
          status: int = 200) -> Any:
    data = alerts_status(_state())
    return render_template("alerts.html", data=data, rules=RULES, titles=RULE_TITLES,
                           severities=SEVERITIES, kinds=KINDS, rule_fields=rule_fields(),
                           channel_fields=CHANNEL_FIELDS, values=values, errors=errors,
                           general=general), status


@bp.get("")
def index() -> Any:
    """Open and past alerts, the channels, the settings form."""
    return _page(_values(_section()), {}, [])


def form_section(form: dict[str, str], current: dict[str, Any]) -> dict[str, Any]:
    """The alerts section the form asks for, laid over the current one (pure)."""
    out = deep_merge(current, {})
    for f in (*rule_fields(), *CHANNEL_FIELDS):
        raw = form.get(f.key, "")
        if f.kind == "checkbox":
            value: Any = as_bool(raw)
        elif f.key in LISTS:
            value = [p for p in raw.replace(",", " ").split() if p]
        else:
            value = raw.strip() or None
        if f.key in SECRETS and value is None and get_path(current, f.key):
            continue  # empty: keep the secret that is set
        node: Any = out
        parts = f.key.split(".")
        for part in parts[:-1]:
            if part.isdigit():
                while len(node) <= int(part):
                    node.append({})
                node = node[int(part)]
            else:
                node = node.setdefault(part, [] if parts[parts.index(part) + 1].isdigit()
                                       else {})
        node[parts[-1]] = value
    # an entry whose address is empty is removed (with its other fields)
    for key, must in (("webhooks", "url"), ("syslog", "host"), ("snmp_managers", "host")):
        if out.get(key) and not out[key][0].get(must):
            out[key] = out[key][1:]
    for key in ("webhooks", "syslog", "snmp_managers"):
        out[key] = [prune(e) for e in out.get(key) or []]
    out["email"] = {k: v for k, v in (out.get("email") or {}).items() if v is not None}
    return {k: v for k, v in out.items() if v is not None}


@bp.post("")
def save() -> Any:
    """Check the form, then keep the change for review (Apply is on the review page)."""
    fields = (*rule_fields(), *CHANNEL_FIELDS)
    values = {f.key: request.form.get(f.key, "") for f in fields}
    data = base_data(_state())
    data["alerts"] = form_section(values, _section())
    problems = prepare(data, "alert settings", url_for("alerts.index"), url_for("alerts.index"))
    if not isinstance(problems, list):
        return problems
    errors: dict[str, str] = {}
    general: list[str] = []
    for path, message in problems:
        text = message[0].upper() + message[1:] if message else message
        rel = path.removeprefix("alerts.").replace("[", ".").replace("]", "")
        key = field_for_issue(fields, rel)
        if path.startswith("alerts.") and key:
            errors.setdefault(key, text if text.endswith(".") else text + ".")
        else:
            general.append(f"{path}: {message}" if path else message)
    for f in fields:
        if f.key in SECRETS:
            values[f.key] = ""
    return _page(values, errors, general, 400)


@bp.post("/test")
def test() -> Any:
    """Send the test message on one channel now; say how it went."""
    from appliance.apply_service.client import HelperError, HelperUnavailable
    from appliance.web.applying import privileged

    channel = request.form.get("channel", "")
    try:
        # the alert settings and log are the collector's: maybe the helper's to read
        problem = privileged().alert_test(channel)
    except (HelperError, HelperUnavailable) as exc:
        problem = str(exc)
    except KeyError:
        flash(_("There is no channel %(channel)s (apply the alert settings first).",
                channel=channel), "error")
        return redirect(url_for("alerts.index"), 303)
    if problem is None:
        flash(_("Test message sent on %(channel)s.", channel=channel), "info")
    else:
        flash(_("The test message on %(channel)s failed: %(problem)s", channel=channel,
                problem=problem), "error")
    return redirect(url_for("alerts.index"), 303)
