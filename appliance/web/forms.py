"""Form fields shared by the wizard and the admin pages, and how their text becomes data."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Parse = Callable[[str], Any]


def as_list(text: str) -> list[str]:
    """'a, b c' → ['a', 'b', 'c'] (commas, spaces or new lines)."""
    return [p for p in text.replace(",", " ").split() if p]


def as_bool(text: str) -> bool:
    """A checkbox: present means on."""
    return text in ("on", "true", "1", "yes")


def as_flag(text: str) -> bool | None:
    """A checkbox whose "off" is the model's default: unset rather than written as false."""
    return True if as_bool(text) else None


def as_opt_out(text: str) -> bool | None:
    """A checkbox whose "on" is the model's default: unset when on, false when cleared."""
    return None if as_bool(text) else False


def as_optional(text: str) -> str | None:
    """Empty means not set."""
    return text.strip() or None


@dataclass(frozen=True)
class FormField:
    """One input of a step. ``key`` is a dotted path inside the step's section."""

    key: str
    label: str
    help: str = ""
    kind: str = "text"  # text, number, email, checkbox, select, password
    parse: Parse = as_optional
    choices: tuple[tuple[str, str], ...] = ()
    placeholder: str = ""
    required: bool = False
    # One plain sentence per choice of a select, shown under it: ((value, sentence), ...).
    choice_help: tuple[tuple[str, str], ...] = ()


def set_path(data: dict[str, Any], key: str, value: Any) -> None:
    """Set a dotted key such as 'users.0.name' inside nested dicts and lists."""
    parts = key.split(".")
    node: Any = data
    for i, part in enumerate(parts[:-1]):
        nxt_is_index = parts[i + 1].isdigit()
        if part.isdigit():
            idx = int(part)
            while len(node) <= idx:
                node.append({} if not nxt_is_index else [])
            node = node[idx]
        else:
            node = node.setdefault(part, [] if nxt_is_index else {})
    last = parts[-1]
    node[last] = value


def get_path(data: Any, key: str) -> Any:
    """Read a dotted key (None when absent)."""
    node = data
    for part in key.split("."):
        if part.isdigit():
            if not isinstance(node, list) or int(part) >= len(node):
                return None
            node = node[int(part)]
        elif isinstance(node, dict):
            node = node.get(part)
        else:
            return None
    return node


def prune(value: Any) -> Any:
    """Drop unset values (so the model's defaults apply) and list items left empty."""
    if isinstance(value, dict):
        out = {k: prune(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not None and v != {} and v != []}
    if isinstance(value, list):
        items = [prune(v) for v in value]
        return [v for v in items if v not in (None, {}, [])]
    return value


def deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``base`` with ``top`` laid over it, nested dicts merged key by key."""
    out = copy.deepcopy(base)
    for k, v in top.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k),
                                                                              dict) else v
    return out


def form_to_data(fields: tuple[FormField, ...], form: dict[str, str]) -> dict[str, Any]:
    """Parse every field of ``form`` into nested data (unset values dropped)."""
    data: dict[str, Any] = {}
    for f in fields:
        set_path(data, f.key, f.parse(form.get(f.key, "")))
    return prune(data)


def field_for_issue(fields: tuple[FormField, ...], path: str) -> str:
    """The form field an issue path such as 'max_prefix.ipv4' or 'ipv4[0]' belongs to."""
    key = path.replace("[", ".").replace("]", "")
    keys = [f.key for f in fields]
    while key:
        if key in keys:
            return key
        key = key.rpartition(".")[0]
    return ""
