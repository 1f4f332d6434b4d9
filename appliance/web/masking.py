"""Hide secrets in configuration text shown on screen."""

from __future__ import annotations

import re

_SECRET_LINE = re.compile(r"^(?P<head>.*?\b(?:password_hash|auth_password|priv_password|"
                          r"md5_password):)\s*\S.*$", re.M)


def mask_secrets(text: str) -> str:
    """Hide password hashes and pass phrases in YAML (or a diff of it)."""
    return _SECRET_LINE.sub(lambda m: m.group("head") + " (hidden)", text)
