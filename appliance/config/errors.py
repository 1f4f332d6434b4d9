"""Configuration problems, reported as ``path.to.field: what is wrong and what to do``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Issue:
    """One problem with a configuration, tied to the field it is about."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message

    def as_dict(self) -> dict[str, str]:
        """JSON-friendly form for ``--json`` output and the API."""
        return {"path": self.path, "message": self.message}


class ConfigError(Exception):
    """A configuration was refused; ``issues`` lists every problem found, in file order."""

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))


def join_path(parts: tuple[int | str, ...] | list[int | str]) -> str:
    """Render a location such as ('members', 2, 'ipv4', 0) as 'members[2].ipv4[0]'."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out
