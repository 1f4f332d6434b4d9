"""Hide secrets in configuration text and diffs shown on screen.

Rendered files carry secrets in many forms (YAML, the SNMP agent's JSON, BIRD's ``password``
lines), so besides hiding known keys, every secret value of the configurations involved is
replaced wherever it appears.
"""

from __future__ import annotations

import re

from appliance.config.model import IXPConfig

_SECRET_LINE = re.compile(r"^(?P<head>.*?\b(?:password_hash|auth_password|priv_password|"
                          r"md5_password|community):)\s*\S.*$", re.M)
_ARGON2 = re.compile(r"\$argon2id\$[^\s\"',]+")
HIDDEN = "(hidden)"


def secret_values(cfg: IXPConfig | None) -> set[str]:
    """Every secret a configuration holds."""
    if cfg is None:
        return set()
    found = {u.password_hash for u in cfg.admin_users}
    found |= {s for u in cfg.snmp.users for s in (u.auth_password, u.priv_password)}
    found |= {c.community for c in cfg.snmp.communities}
    found |= {m.md5_password for m in cfg.members if m.md5_password}
    return found


def mask_secrets(text: str, *configs: IXPConfig | None) -> str:
    """``text`` with secret keys' values and every secret of ``configs`` hidden."""
    text = _SECRET_LINE.sub(lambda m: m.group("head") + " " + HIDDEN, text)
    text = _ARGON2.sub(HIDDEN, text)
    secrets = set().union(*(secret_values(c) for c in configs)) if configs else set()
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 4:
            text = text.replace(secret, HIDDEN)
    return text
