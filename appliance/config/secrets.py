"""What in a configuration is secret, decided in one place for every reader.

The web pages, the JSON API, the change summaries and the history all ask ``is_secret`` (by
field name) and ``secret_values`` (by value); a new secret field is added here once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from appliance.config.model import IXPConfig

HIDDEN = "(hidden)"
# Field names that hold a secret, wherever they appear in the model.
SECRET_FIELDS = frozenset({"password_hash", "auth_password", "priv_password", "md5_password",
                           "community"})
# Names a future secret field would likely have; hidden too, to fail safe.
_SECRET_ENDINGS = ("password", "password_hash", "_secret", "_token", "_key")


def is_secret(key: str) -> bool:
    """Whether the field ``key`` (a name or a dotted path like ``members.md5_password``)
    holds a secret."""
    name = key.rsplit(".", 1)[-1].split("[", 1)[0]
    return name in SECRET_FIELDS or name.endswith(_SECRET_ENDINGS)


def mask_data(data: Any) -> Any:
    """A copy of parsed configuration data (dicts and lists, as from YAML or JSON) with the
    value of every secret field replaced by ``HIDDEN``; empty values stay empty."""
    if isinstance(data, dict):
        return {k: (HIDDEN if is_secret(str(k)) and v not in (None, "")
                    else mask_data(v)) for k, v in data.items()}
    if isinstance(data, list):
        return [mask_data(v) for v in data]
    return data


def secret_values(cfg: IXPConfig | None) -> set[str]:
    """Every secret value a configuration holds (to hide them in rendered files and diffs)."""
    if cfg is None:
        return set()
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if is_secret(str(k)) and isinstance(v, str) and v:
                    found.add(v)
                else:
                    walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(cfg.model_dump(mode="json"))
    return found
