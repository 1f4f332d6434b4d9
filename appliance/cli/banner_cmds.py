"""ixpctl banner words: the console banner's sentences in the box's language, for the shell.

``rootfs/usr/local/sbin/ixp-banner`` runs this once a minute and ``eval``s its output: one
``T_NAME='sentence'`` line per sentence, ``@@`` where the banner fills in a value. The language
is ``identity.language`` of the committed configuration; before the first one (first boot,
the setup code screen) and for a language we have no catalogue for, English. Nothing else is
read or written.
"""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from appliance.cli.common import add_state_dir

LANGUAGES = ("fr", "es", "pt")


def box_language(state_dir: Path) -> str:
    """The committed ``identity.language`` when it is one of ours, else English."""
    from appliance.config.committed import committed_config

    try:
        cfg = committed_config(state_dir)
    except (OSError, ValueError):
        return "en"
    language = cfg.identity.language if cfg is not None else None
    return language if language in LANGUAGES else "en"


def banner_words(state_dir: Path, language: str | None = None) -> dict[str, str]:
    """The banner's sentences in ``language`` (default: the box's)."""
    from appliance.web import banner

    language = language or box_language(state_dir)
    if language == "en":
        return banner.english_words()
    from flask import Flask
    from flask_babel import Babel, force_locale

    app = Flask("appliance.web")  # its root is the web package: the catalogues are there
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = "translations"
    Babel(app)
    with app.app_context(), force_locale(language):
        return banner.words()


def cmd_words(args: argparse.Namespace) -> int:
    """Print ``T_NAME='sentence'`` lines for the banner's ``eval``."""
    for name, text in banner_words(args.state_dir, args.language).items():
        print(f"{name}={shlex.quote(text)}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add 'banner'."""
    banner = sub.add_parser("banner", help="the console banner's sentences (for ixp-banner)")
    bsub = banner.add_subparsers(dest="banner_verb", required=True, metavar="VERB")
    p = bsub.add_parser("words", help="print the banner's sentences in the box's language as "
                        "shell assignments")
    p.add_argument("--language", choices=("en", *LANGUAGES), default=None,
                   help="this language instead of the box's identity.language")
    add_state_dir(p)
    p.set_defaults(func=cmd_words)
