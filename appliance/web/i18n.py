"""The web UI's languages (Flask-Babel): which one a request gets, the footer's switch, and the
config model's validation sentences translated for display.

A request's language is the one chosen with the footer's switch (kept in the session), else
the best of the browser's ``Accept-Language``, else the box's ``identity.language``, else
English. The catalogues are in ``translations/`` (docs/translating.md says how to add one).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from babel import Locale
from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    has_request_context,
    redirect,
    request,
    session,
    url_for,
)
from flask_babel import Babel, get_locale, gettext, lazy_gettext, ngettext, pgettext
from markupsafe import Markup

from appliance.config.committed import committed_config

# Code -> the language's own name, as the switch shows it (never translated: a reader who
# cannot read the current language must still find theirs).
LANGUAGES: dict[str, str] = {"en": "English", "fr": "Français", "es": "Español",
                             "pt": "Português"}
SESSION_KEY = "language"

bp = Blueprint("i18n", __name__)


def select_locale() -> str:
    """The language of this request: session choice, browser, box default, English."""
    chosen = session.get(SESSION_KEY)
    if chosen in LANGUAGES:
        return chosen
    browser = request.accept_languages.best_match(list(LANGUAGES))
    if browser:
        return browser
    cfg = committed_config(current_app.config["STATE_DIR"])
    if cfg is not None and cfg.identity.language in LANGUAGES:
        return cfg.identity.language
    return "en"


def current_locale() -> Locale:
    """The request's Babel locale; English outside a request (CLI, unit tests of filters)."""
    if has_request_context():
        loc = get_locale()
        if loc is not None:
            return loc
    return Locale("en")


def clear_session() -> None:
    """Empty the session (login, logout, setup code) but keep the language chosen in it: it
    is a preference of the person at the browser, not part of what the session proves."""
    language = session.get(SESSION_KEY)
    session.clear()
    if language in LANGUAGES:
        session[SESSION_KEY] = language


def _safe_next(target: str) -> str:
    """A path on this box to go back to; anything else (another host, a scheme) is refused so
    the switch cannot be used to send someone elsewhere."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("status.index")
    return target


@bp.post("/language")
def choose() -> Response:
    """Store the language chosen in the footer and go back to the page it was chosen on."""
    language = request.form.get("language", "")
    if language in LANGUAGES:
        session[SESSION_KEY] = language
    return redirect(_safe_next(request.form.get("next", "")))


# The config model's sentences (appliance/config: loader.py, types.py, model.py) stay English
# for the CLI and the API; the web translates the common ones when it shows them. Each entry:
# a pattern of the English sentence (without its first capital and final full stop) and the
# translatable sentence, filled in with the pattern's named groups.
_ISSUES: tuple[tuple[re.Pattern[str], Callable[..., Any]], ...] = tuple(
    (re.compile(pattern + "$"), text) for pattern, text in (
        (r"this is needed", lambda: gettext("This is needed.")),
        (r"is required; add it", lambda: gettext("Is required; add it.")),
        (r"must be a whole number", lambda: gettext("Must be a whole number.")),
        (r"must be true or false", lambda: gettext("Must be true or false.")),
        (r"must be text", lambda: gettext("Must be text.")),
        (r"must be a finite number", lambda: gettext("Must be a finite number.")),
        (r"is not a known setting; check its spelling or remove it",
         lambda: gettext("Is not a known setting; check its spelling or remove it.")),
        (r"must be at most (?P<n>\S+)", lambda n: gettext("Must be at most %(n)s.", n=n)),
        (r"must be at least (?P<n>\S+)", lambda n: gettext("Must be at least %(n)s.",
                                                                 n=n)),
        (r"must be less than (?P<n>\S+)", lambda n: gettext("Must be less than %(n)s.",
                                                                  n=n)),
        (r"must be more than (?P<n>\S+)", lambda n: gettext("Must be more than %(n)s.",
                                                                  n=n)),
        (r"must be at least (?P<n>\d+) characters long",
         lambda n: gettext("Must be at least %(n)s characters long.", n=n)),
        (r"must be at most (?P<n>\d+) characters long",
         lambda n: gettext("Must be at most %(n)s characters long.", n=n)),
        (r"must be one of (?P<choices>.+)",
         lambda choices: gettext("Must be one of %(choices)s.", choices=choices)),
        (r"is not a valid e-mail address; write it like noc@example\.net",
         lambda: gettext("Is not a valid e-mail address; write it like noc@example.net.")),
        (r"'(?P<text>.*)' has host bits set; the prefix is (?P<net>\S+) \(write that\)",
         lambda text, net: gettext("'%(text)s' has host bits set; the prefix is %(net)s "
                                        "(write that).", text=text, net=net)),
        (r"'(?P<text>.*)' has no prefix length; write it like (?P<net>\S+)",
         lambda text, net: gettext("'%(text)s' has no prefix length; write it like "
                                        "%(net)s.", text=text, net=net)),
        (r"'(?P<text>.*)' needs a prefix length, e\.g\. (?P<example>\S+)",
         lambda text, example: gettext("'%(text)s' needs a prefix length, e.g. "
                                            "%(example)s.", text=text, example=example)),
        (r"'(?P<text>.*)' is not an IPv4 address \(expected four numbers like 192\.0\.2\.10\)",
         lambda text: gettext("'%(text)s' is not an IPv4 address (expected four numbers "
                                   "like 192.0.2.10).", text=text)),
        (r"'(?P<text>.*)' is not an IPv6 address \(expected something like 2001:db8::10\)",
         lambda text: gettext("'%(text)s' is not an IPv6 address (expected something "
                                   "like 2001:db8::10).", text=text)),
        (r"'(?P<text>.*)' is not an AS number; write it like 64500 or AS64500",
         lambda text: gettext("'%(text)s' is not an AS number; write it like 64500 or "
                                   "AS64500.", text=text)),
        (r"'(?P<text>.*)' is not a MAC address; write it like 02:00:5e:10:00:01",
         lambda text: gettext("'%(text)s' is not a MAC address; write it like "
                                   "02:00:5e:10:00:01.", text=text)),
        (r"'(?P<text>.*)' is not a valid host name \(letters, digits and '-' only\)",
         lambda text: gettext("'%(text)s' is not a valid host name (letters, digits and "
                                   "'-' only).", text=text)),
        (r"'(?P<text>.*)' is not a known time zone; use a name like UTC or Pacific/Fiji",
         lambda text: gettext("'%(text)s' is not a known time zone; use a name like UTC "
                                   "or Pacific/Fiji.", text=text)),
        (r"has characters or a form that is not allowed here: (?P<hint>.+)",
         lambda hint: gettext("Has characters or a form that is not allowed here: "
                                   "%(hint)s.", hint=_hint(hint))),
    ))

# appliance.config.model.PATTERN_HINTS, the second half of a pattern sentence.
_HINTS: dict[str, Callable[[], Any]] = {
    "use letters, digits, spaces, '.', '-' or '_', starting with a letter or digit":
        lambda: gettext("use letters, digits, spaces, '.', '-' or '_', starting with a "
                             "letter or digit"),
    "use the two-letter ISO 3166 country code in capitals, like FJ or WS":
        lambda: gettext("use the two-letter ISO 3166 country code in capitals, like FJ "
                             "or WS"),
    "use a web address starting with https:// or http://":
        lambda: gettext("use a web address starting with https:// or http://"),
    "use an IRR source name in capitals, like RIPE or APNIC":
        lambda: gettext("use an IRR source name in capitals, like RIPE or APNIC"),
    "use printable ASCII characters without spaces":
        lambda: gettext("use printable ASCII characters without spaces"),
    "use printable ASCII characters only":
        lambda: gettext("use printable ASCII characters only"),
    "use letters, digits, '.', '-' or '_' only":
        lambda: gettext("use letters, digits, '.', '-' or '_' only"),
    "use lower-case letters, digits, '.', '-' or '_', starting with a letter":
        lambda: gettext("use lower-case letters, digits, '.', '-' or '_', starting with a "
                             "letter"),
    "remove control characters (tabs, line breaks)":
        lambda: gettext("remove control characters (tabs, line breaks)"),
}


def _hint(english: str) -> str:
    hint = _HINTS.get(english)
    return str(hint()) if hint else english


def issue_text(message: Any) -> str:
    """A validation sentence of the config model in the reader's language, when it is one of
    the common ones; others stay as they are (English). Accepts both the model's form ("must
    be a whole number") and the web's ("Must be a whole number.")."""
    if message is None:
        return ""
    text = str(message)
    if isinstance(message, Markup) or not text:
        return text
    bare = text.rstrip(".")
    bare = bare[0].lower() + bare[1:] if bare[:1].isupper() and bare[1:2].islower() else bare
    for pattern, translate in _ISSUES:
        m = pattern.match(bare)
        if m:
            out = str(translate(**m.groupdict()))
            return out if text[:1].isupper() or text.endswith(".") else \
                out[0].lower() + out[1:].rstrip(".")
    return text


def issue_line(line: Any) -> str:
    """'path.to.field: sentence' with the sentence translated; the path stays as it is."""
    text = str(line)
    path, sep, sentence = text.partition(": ")
    if sep and " " not in path:
        return f"{path}: {issue_text(sentence)}"
    return issue_text(text)


def register(app: Flask) -> None:
    """Set up Flask-Babel, the switch's route and the template helpers on ``app``."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "en")
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", "translations")
    Babel(app, locale_selector=select_locale)
    # {% trans %} blocks are written across lines; their msgids are the words, not the indent
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    app.register_blueprint(bp)
    app.add_template_filter(issue_text, "issue_text")
    app.add_template_filter(issue_line, "issue_line")

    @app.context_processor
    def _languages() -> dict[str, Any]:
        return {"languages": LANGUAGES, "current_language": str(current_locale().language)}


__all__ = ["LANGUAGES", "clear_session", "current_locale", "gettext", "issue_line",
           "issue_text", "lazy_gettext", "ngettext", "pgettext", "register", "select_locale"]
