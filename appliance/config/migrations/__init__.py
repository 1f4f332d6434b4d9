"""Schema versions of the configuration, and the migrations between them (VyOS style).

``version:`` in the YAML is the schema version. A change of the model that is not purely
additive (a field renamed, moved, split or given another meaning) raises ``SCHEMA_VERSION`` by
one and ships a module ``mNNNN_<what>.py`` in this package that turns a schema-NNNN document
into a schema-NNNN+1 one. Each module defines::

    FROM_VERSION = NNNN          # the schema it reads; it writes FROM_VERSION + 1
    SUMMARY = "what changed, in words, for the revision comment and the log"
    def migrate(data: dict) -> dict: ...   # plain YAML data in, plain YAML data out

Loading runs every migration from the document's version up to ``SCHEMA_VERSION`` before the
model sees it, so every released version keeps loading (tests/fixtures/config/ holds one file
per version). A document newer than this software is refused: only a newer firmware reads it.

Schema 1 is the implicit version: every file written before ``version:`` was written has it.
No migration exists yet (schema 1 is the only released one); the machinery is tested with a
test-only migration (tests/config/test_migrations.py).
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from appliance import __version__

SCHEMA_VERSION = 1
# A document without ``version:`` was written by software that never wrote one: schema 1.
IMPLICIT_VERSION = 1
_MODULE_RE = re.compile(r"^m(\d{4})_[a-z0-9_]+$")
# The canonical text (loader.dump_config) writes top-level keys at the start of a line.
_TEXT_VERSION_RE = re.compile(r"(?m)^version:\s*(\d+)\s*$")


@dataclass(frozen=True)
class Migration:
    """One step: schema ``from_version`` to ``from_version + 1``."""

    from_version: int
    name: str
    summary: str
    migrate: Callable[[dict[str, Any]], dict[str, Any]]


@dataclass
class Migrated:
    """A document brought to the current schema, and the steps it took."""

    data: dict[str, Any]
    from_version: int
    steps: list[Migration] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether any migration ran."""
        return bool(self.steps)

    def describe(self) -> str:
        """One line for a revision comment or the log."""
        if not self.steps:
            return ""
        what = "; ".join(f"{m.name}: {m.summary}" for m in self.steps)
        return (f"migrated from schema version {self.from_version} to "
                f"{self.steps[-1].from_version + 1} ({what})")


class SchemaError(ValueError):
    """The document's schema version cannot be read by this software; the message says why."""


def discover() -> list[Migration]:
    """The migration modules shipped in this package, oldest first (checked to form a chain)."""
    found: list[Migration] = []
    for info in pkgutil.iter_modules(__path__):
        m = _MODULE_RE.match(info.name)
        if not m:
            continue
        mod = importlib.import_module(f"{__name__}.{info.name}")
        if int(m.group(1)) != mod.FROM_VERSION:
            raise RuntimeError(f"{info.name}: FROM_VERSION {mod.FROM_VERSION} does not match "
                               "its number")
        found.append(Migration(mod.FROM_VERSION, info.name, mod.SUMMARY, mod.migrate))
    return sorted(found, key=lambda m: m.from_version)


# What load uses; tests put a test-only migration here (monkeypatch).
MIGRATIONS: list[Migration] = discover()


def oldest_readable(migrations: Iterable[Migration] | None = None,
                    target: int | None = None) -> int:
    """The oldest schema version a chain of migrations reaches ``target`` from."""
    target = SCHEMA_VERSION if target is None else target
    steps = {m.from_version: m for m in (MIGRATIONS if migrations is None else migrations)}
    oldest = target
    while oldest - 1 in steps:
        oldest -= 1
    return oldest


def newer_message(version: int, *, target: int | None = None,
                  written_by: str | None = None) -> str:
    """Why a schema-``version`` document is refused here, and which firmware reads it."""
    target = SCHEMA_VERSION if target is None else target
    by = f", which ixp-appliance {written_by} wrote" if written_by else ""
    return (f"this configuration has schema version {version}{by}; this firmware "
            f"(ixp-appliance {__version__}) reads schema versions up to {target}. Install a "
            f"firmware that reads schema version {version} "
            + (f"(ixp-appliance {written_by} or newer)" if written_by else
               "(the one that wrote it, or newer)") + ", or load an older configuration")


def document_version(data: dict[str, Any]) -> int:
    """The schema version a parsed document declares (``IMPLICIT_VERSION`` when it has none)."""
    version = data.get("version", IMPLICIT_VERSION)
    if isinstance(version, bool) or not isinstance(version, int):
        raise SchemaError(f"must be a whole number, the schema version (this software writes "
                          f"{SCHEMA_VERSION}); got {version!r}")
    return version


def text_version(text: str) -> int:
    """The schema version of a canonical configuration text (a revision), without parsing it."""
    m = _TEXT_VERSION_RE.search(text)
    return int(m.group(1)) if m else IMPLICIT_VERSION


def migrate_data(data: dict[str, Any], *, migrations: Iterable[Migration] | None = None,
                 target: int | None = None) -> Migrated:
    """Bring parsed YAML ``data`` to schema ``target`` (default: ``SCHEMA_VERSION``).

    Raises ``SchemaError`` for a document newer than ``target`` or older than any migration
    reaches. The input is not modified.
    """
    target = SCHEMA_VERSION if target is None else target
    chain = list(MIGRATIONS if migrations is None else migrations)
    version = document_version(data)
    if version > target:
        raise SchemaError(newer_message(version, target=target))
    oldest = oldest_readable(chain, target)
    if version < oldest:
        raise SchemaError(f"schema version {version} is older than any this firmware reads "
                          f"(oldest: {oldest}); set version: {target} if the file was written "
                          "for this firmware")
    steps = {m.from_version: m for m in chain}
    out = Migrated(dict(data), version)
    while version < target:
        step = steps[version]
        result = step.migrate(dict(out.data))
        version += 1
        result["version"] = version  # the step's output is schema version+1, whatever it set
        out.data = result
        out.steps.append(step)
    return out
