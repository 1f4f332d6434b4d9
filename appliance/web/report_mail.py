"""The monthly report card mail's words (``alerts/monthly.py`` gathers the facts and sends):
a plain-text mail in the box's language (``identity.language``).

The sentences live here, in the web package, so that the web UI's catalogues hold them (as
the console banner's do, ``banner.py``); most are the report card page's own. The mail is
composed outside any request: ``composer`` gives a function that renders it under the box's
language with Flask-Babel's ``force_locale``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from flask_babel import get_locale
from flask_babel import gettext as _

from appliance.monitor.graphs import humanize
from appliance.web.filters import ROUTE_WORDS, to_datetime

LANGUAGES = ("en", "fr", "es", "pt")


def _locale() -> Locale:
    return get_locale() or Locale("en")


def _n(value: Any) -> str:
    """A count in the language's digits (``1 234`` in French)."""
    return format_decimal(int(value or 0), "#,##0", locale=_locale())


def _pct(value: Any) -> str:
    return "–" if value is None else format_decimal(float(value), "#,##0.#", locale=_locale())


def _bytes(value: Any) -> str:
    """Bytes in human units with the language's decimal sign (``1,23 GB``)."""
    text = humanize(float(value or 0), "B").strip()
    figure, _sep, unit = text.partition(" ")
    try:
        return f"{format_decimal(float(figure), '#,##0.##', locale=_locale())} {unit}".strip()
    except ValueError:
        return text


def _time(value: Any, zone: ZoneInfo) -> str:
    moment = to_datetime(value)
    if moment is None:
        return "–" if value in (None, "") else str(value)
    return format_datetime(moment.astimezone(zone), "medium", tzinfo=zone, locale=_locale())


def month_name(month: str) -> str:
    """``2026-11`` as the language writes it (``November 2026``, ``novembre 2026``)."""
    year, mon = (int(p) for p in month.split("-"))
    return format_date(date(year, mon, 1), "LLLL y", locale=_locale())


def _sessions(facts: dict[str, Any], zone: ZoneInfo) -> list[str]:
    card = facts["card"]
    lines = [_("Sessions with the route server"), ""]
    if not card["route_server"]:
        return [*lines, "  " + _("This member does not peer with the route server.")]
    if not card["rs_running"]:
        lines.append("  " + _("The route server does not run."))
    elif not card["sessions"]:
        lines.append("  " + _("No session yet."))
    for s in card["sessions"] if card["rs_running"] else []:
        if s.get("up"):
            lines.append("  " + _("%(neighbor)s: %(state)s since %(since)s; %(accepted)s "
                                  "accepted, %(filtered)s filtered, %(exported)s sent to it.",
                                  neighbor=s["neighbor"], state=s["state"],
                                  since=_time(s.get("since"), zone),
                                  accepted=_n(s.get("accepted")),
                                  filtered=_n(s.get("filtered")),
                                  exported=_n(s.get("exported"))))
        else:
            lines.append("  " + _("%(neighbor)s: %(state)s (down).", neighbor=s["neighbor"],
                                  state=s["state"] or "?"))
        if s.get("limit_hit"):
            lines.append("    " + _("Max-prefix limit hit (%(limit)s).", limit=s.get("limit")))
    out = facts["outages"]
    lines.append("")
    if not facts["rules"]["session_down"]:
        lines.append("  " + _("Session outages are not counted: the session-down alert is "
                              "off."))
    elif out["count"]:
        lines.append("  " + _("Session outages in %(month)s: %(count)s, %(minutes)s minutes "
                              "in all (those longer than the session-down alert's delay).",
                              month=month_name(facts["month"]), count=_n(out["count"]),
                              minutes=_n(out["minutes"])))
    else:
        lines.append("  " + _("No session outage in %(month)s.",
                              month=month_name(facts["month"])))
    return lines


def _prefixes(card: dict[str, Any]) -> list[str]:
    lines = [_("Prefixes"), "",
             "  " + _("%(accepted)s accepted, %(filtered)s filtered.",
                      accepted=_n(card["accepted"]), filtered=_n(card["filtered"]))]
    if card["filtered_by_reason"]:
        lines += ["", "  " + _("Filtered, by reason")]
        lines += [f"  - {ROUTE_WORDS.get(k, k)}: {_n(n)}"
                  for k, n in card["filtered_by_reason"].items()]
    cov = card["coverage"]
    lines += ["", "  " + _("RPKI and IRR coverage of what it announces")]
    if cov["announced"]:
        lines.append("  - " + _("RPKI: %(pct)s %% covered by a ROA (%(valid)s valid, "
                                "%(invalid)s invalid, %(nf)s without a ROA).",
                                pct=_pct(cov["rpki"]["roa_coverage_pct"]),
                                valid=_n(cov["rpki"]["valid"]),
                                invalid=_n(cov["rpki"]["invalid"]),
                                nf=_n(cov["rpki"]["not_found"])))
        lines.append("  - " + _("IRR: %(pct)s %% registered (%(ok)s registered, %(bad)s not "
                                "registered, %(unknown)s not checked).",
                                pct=_pct(cov["irr"]["irr_coverage_pct"]),
                                ok=_n(cov["irr"]["registered"]),
                                bad=_n(cov["irr"]["unregistered"]),
                                unknown=_n(cov["irr"]["unknown"])))
    else:
        lines.append("  " + _("It announces no prefix yet."))
    lines += ["", "  " + aspa_sentence(card["aspa"])]
    return lines


def aspa_sentence(aspa: dict[str, Any]) -> str:
    """The report card's ASPA line (the page has the same sentences)."""
    if aspa["policy"] == "off":
        return _("ASPA: the route server does not check this member's AS paths (policy off).")
    if aspa["record"]:
        return _("ASPA: this network has published its ASPA record (providers: %(providers)s); "
                 "the route server checks its AS paths.",
                 providers=", ".join(aspa["providers"]) or _("none"))
    if aspa["data"]:
        return _("ASPA: the imported RPKI data has no ASPA record for this network; publishing "
                 "one at its RIR lets others verify paths through it. The route server checks "
                 "its AS paths.")
    return _("ASPA: no RPKI data with ASPA records is imported, so every AS path is Unknown.")


def _traffic(facts: dict[str, Any]) -> list[str]:
    lines = [_("Traffic with the other members"), ""]
    t = facts["traffic"]
    if t is None:
        return [*lines, "  " + _("The traffic matrix is off (peering_lan.traffic_matrix).")]
    if not t["peers"]:
        return [*lines, "  " + _("No traffic with other members counted in %(month)s.",
                                 month=month_name(facts["month"]))]
    lines.append("  " + _("Sent %(sent)s, received %(received)s over the peering LAN in "
                          "%(month)s, counted exactly by the switch.",
                          sent=_bytes(t["sent_bytes"]), received=_bytes(t["received_bytes"]),
                          month=month_name(facts["month"])))
    lines += ["", "  " + _("Top peers")]
    for p in t["top_peers"]:
        lines.append("  - " + _("AS%(asn)s %(name)s: %(sent)s sent to it, %(received)s "
                                "received from it.", asn=p["asn"], name=p["name"],
                                sent=_bytes(p["sent"]), received=_bytes(p["received"])))
    return lines


def compose(facts: dict[str, Any]) -> tuple[str, str, str | None]:
    """(subject, plain text, no HTML) of one member's monthly mail, in the current locale
    (call under ``force_locale``; ``composer`` does)."""
    zone = ZoneInfo(facts.get("timezone") or "UTC")
    month = month_name(facts["month"])
    subject = _("[%(ixp)s] Report card of AS%(asn)s %(name)s for %(month)s",
                ixp=facts["ixp"], asn=facts["asn"], name=facts["name"], month=month)
    title = _("Report card of AS%(asn)s %(name)s for %(month)s", asn=facts["asn"],
              name=facts["name"], month=month)
    card = facts["card"]
    lines = [title, "=" * len(title), "",
             f"{facts['ixp_name']} ({facts['ixp']})",
             _("Port(s)") + ": " + ", ".join(card["ports"])
             + (" · " + ", ".join(card["ipv4"] + card["ipv6"]) if card["ipv4"] + card["ipv6"]
                else ""), ""]
    if card["quarantine"]:
        lines += [_("The port is in quarantine."), ""]
    lines += [*_sessions(facts, zone), "", *_prefixes(card), "", *_traffic(facts)]
    generated = datetime.fromtimestamp(float(facts["generated"]), UTC)
    lines += ["", "-- ",
              _("Sessions and prefixes as they were on %(when)s; outages and traffic over "
                "the whole month (time zone %(zone)s).", when=_time(generated, zone),
                zone=zone.key),
              _("Sent once a month by the IXP appliance of %(ixp)s (%(host)s). Questions, or "
                "to stop these reports: reply, or write to %(contact)s.", ixp=facts["ixp"],
                host=facts["hostname"], contact=facts["contact"])]
    return subject, "\n".join(lines) + "\n", None


def composer(language: str) -> Callable[[dict[str, Any]], tuple[str, str, str | None]]:
    """``compose`` in ``language`` (one of ours, else English), for use outside a request:
    the web UI's catalogues through a bare Flask app with Flask-Babel."""
    from flask import Flask
    from flask_babel import Babel, force_locale

    app = Flask("appliance.web")  # its root is the web package: the catalogues are there
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = "translations"
    Babel(app)
    lang = language if language in LANGUAGES else "en"

    def in_language(facts: dict[str, Any]) -> tuple[str, str, str | None]:
        with app.app_context(), force_locale(lang):
            return compose(facts)
    return in_language
