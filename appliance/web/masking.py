"""Hide secrets in configuration text and diffs shown on screen.

What is secret is decided by ``appliance.config.secrets`` alone. Configuration text is masked
on its parsed data (so a folded or quoted YAML value cannot slip through); rendered files carry
secrets in other forms (the SNMP agent's JSON, BIRD's ``password`` lines), so there, besides
hiding known keys, every secret value of the configurations involved is replaced wherever it
appears.
"""

from __future__ import annotations

import re

import yaml

from appliance.config.model import IXPConfig
from appliance.config.secrets import HIDDEN, SECRET_FIELDS, mask_data, secret_values

__all__ = ["HIDDEN", "mask_config_text", "mask_secrets", "secret_values"]

_SECRET_LINE = re.compile(r"^(?P<head>.*?\b(?:" + "|".join(sorted(SECRET_FIELDS)) +
                          r"):)\s*\S.*$", re.M)
_ARGON2 = re.compile(r"\$argon2id\$[^\s\"',]+")


def mask_secrets(text: str, *configs: IXPConfig | None) -> str:
    """``text`` with secret keys' values and every secret of ``configs`` hidden."""
    text = _SECRET_LINE.sub(lambda m: m.group("head") + " " + HIDDEN, text)
    text = _ARGON2.sub(HIDDEN, text)
    secrets = set().union(*(secret_values(c) for c in configs)) if configs else set()
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 4:
            text = text.replace(secret, HIDDEN)
    return text


def mask_config_text(text: str, *configs: IXPConfig | None) -> str:
    """Configuration YAML with every secret hidden, masked on the parsed data and written
    again; text that is not a YAML mapping is masked as plain text."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        data = None
    if not isinstance(data, dict):
        return mask_secrets(text, *configs)
    out = yaml.safe_dump(mask_data(data), sort_keys=False, allow_unicode=True, width=100)
    return mask_secrets(out, *configs)  # belt and braces: a secret copied into a comment field
