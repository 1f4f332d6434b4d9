"""The console banner's sentences (``rootfs/usr/local/sbin/ixp-banner``) in the box's language.

The banner is a shell script on the image; it asks ``ixpctl banner words`` for these sentences
once a minute and falls back to its own English when that fails. The sentences live here, in
the web package, so that the web UI's catalogues (``translations/``) hold them and
``docs/translating.md``'s steps cover them. Each template has at most one placeholder, which
the shell fills in; it is handed over as ``@@``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from flask_babel import gettext as _

PLACEHOLDER = "@@"

# Shell variable -> (the English template, exactly as the banner always printed it, the image
# tests match these; its translation). ``%(value)s`` is what the shell fills in.
WORDS: dict[str, tuple[str, Callable[[], str]]] = {
    "T_TITLE": ("IXP appliance %(value)s", lambda: _("IXP appliance %(value)s")),
    "T_OPEN": ("Open https://%(value)s/ in a browser",
               lambda: _("Open https://%(value)s/ in a browser")),
    "T_CABLE": ("Or https://%(value)s/ from a laptop cabled straight to the management port",
                lambda: _("Or https://%(value)s/ from a laptop cabled straight to the "
                          "management port")),
    "T_NODHCP": ("No DHCP address yet on the management port; try https://192.168.254.1/",
                 lambda: _("No DHCP address yet on the management port; try "
                           "https://192.168.254.1/")),
    "T_CODE": ("Setup code: %(value)s", lambda: _("Setup code: %(value)s")),
    "T_CODE_WHY": ("(the wizard asks for it; it proves you can see this console)",
                   lambda: _("(the wizard asks for it; it proves you can see this console)")),
    "T_RUNS": ("Runs as: %(value)s", lambda: _("Runs as: %(value)s")),
    "T_CAPS": ("Capabilities: %(value)s", lambda: _("Capabilities: %(value)s")),
    "T_DONE": ("Setup is done. Status:", lambda: _("Setup is done. Status:")),
    "T_SANDBOX": ("Sandbox: %(value)s", lambda: _("Sandbox: %(value)s")),
    "T_SYSTEM": ("System: %(value)s", lambda: _("System: %(value)s")),
    "T_FAILED": ("Failed units: %(value)s", lambda: _("Failed units: %(value)s")),
    "T_CERT": ("HTTPS certificate SHA-256: %(value)s",
               lambda: _("HTTPS certificate SHA-256: %(value)s")),
    "T_RESET": ("Factory reset: log in and run ixp-factory-reset, or pick it in the boot menu",
                lambda: _("Factory reset: log in and run ixp-factory-reset, or pick it in the "
                          "boot menu")),
}

_SLOT = re.compile(r"%\(value\)s")


def shell_template(english: str, translated: str) -> str:
    """``translated`` with its placeholder as ``@@`` for the shell; the English one when the
    translation lost or doubled the placeholder, or holds a line break (the banner must stay
    one line per sentence, and a broken catalogue must not break the console)."""
    want = len(_SLOT.findall(english))
    text = translated if len(_SLOT.findall(translated)) == want and "\n" not in translated \
        and PLACEHOLDER not in translated and translated.strip() else english
    return _SLOT.sub(PLACEHOLDER, text.replace("%%", "%"))


def words() -> dict[str, str]:
    """Every banner sentence in the current locale (call inside an app with Babel and a
    forced locale), placeholders as ``@@``."""
    return {name: shell_template(english, str(translate()))
            for name, (english, translate) in WORDS.items()}


def english_words() -> dict[str, str]:
    """The sentences as the banner prints them without a language of ours."""
    return {name: shell_template(english, english) for name, (english, _t) in WORDS.items()}
