"""``ixpctl`` in the operator's language (issue 17): English unless the environment says
otherwise.

``LC_ALL``, ``LC_MESSAGES`` or ``LANG`` (the first one set, as gettext reads them) naming one
of the web UI's languages makes the configuration's problems come out in that language, with
the same catalogues as the web UI; the field path stays as it is (``members[2].ipv4[0]: ...``),
so scripts and the documentation still match it. Everything else the CLI prints stays English.
Flask-Babel is only loaded when a problem is to be said in another language.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import TypeVar

from appliance.config.errors import Issue

LANGUAGES = ("fr", "es", "pt")
T = TypeVar("T")


def cli_language() -> str | None:
    """The language the CLI speaks besides English, from the environment; None: English."""
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var, "")
        if value:
            code = value.split(".")[0].split("_")[0].lower()
            return code if code in LANGUAGES else None
    return None


def issue_lines(issues: Iterable[Issue]) -> list[str]:
    """Each problem as ``path: sentence``, the sentence in the CLI's language."""
    lines = [str(i) for i in issues]
    lang = cli_language()
    if lang is None or not lines:
        return lines
    from flask import Flask
    from flask_babel import Babel, force_locale

    from appliance.web.i18n import issue_line

    app = Flask("appliance.web")  # its root is the web package: the catalogues are there
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = "translations"
    Babel(app)
    with app.app_context(), force_locale(lang):
        return [issue_line(line) for line in lines]


def in_cli_language(work: Callable[[], T]) -> T:
    """``work()`` with the web UI's catalogues in the CLI's language (English when none):
    for words kept in the web package (the onboarding checklist's)."""
    from flask import Flask
    from flask_babel import Babel, force_locale

    app = Flask("appliance.web")
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = "translations"
    Babel(app)
    with app.app_context(), force_locale(cli_language() or "en"):
        return work()
