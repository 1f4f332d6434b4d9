"""What the review pages show: sentences first, the technical plan and per-file diffs folded.

The sentences come from ``appliance.config.summary`` (the CLI prints them in English); this
module says them in the reader's language (``say``) and adds what only the web needs: the diff
split per file with each line classed for colour, and pipeline errors that name a field
(``members[5].ports[0].interface: ...``) mapped to that field of a form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import reduce
from typing import Any

from babel.lists import format_list

from appliance.config.model import IXPConfig
from appliance.config.summary import Phrase, Series, describe_change, summarize
from appliance.pipeline.concern import Change
from appliance.web.i18n import current_locale, gettext, pgettext


@dataclass
class FileDiff:
    """One file's part of the unified diff, lines classed "add", "del", "hunk" or ""."""

    path: str
    lines: list[tuple[str, str]] = field(default_factory=list)

    @property
    def added(self) -> int:
        """Lines added."""
        return sum(1 for c, _ in self.lines if c == "add")

    @property
    def removed(self) -> int:
        """Lines removed."""
        return sum(1 for c, _ in self.lines if c == "del")


def split_diff(diff: str) -> list[FileDiff]:
    """The unified diff of ``Pipeline.diff`` as one ``FileDiff`` per file."""
    files: list[FileDiff] = []
    current: FileDiff | None = None
    for line in diff.splitlines():
        if line.startswith("--- "):
            current = FileDiff(line[4:].removeprefix("running/"))
            files.append(current)
            current.lines.append(("head", line))
            continue
        if current is None:
            current = FileDiff("")
            files.append(current)
        if line.startswith("+++ "):
            current.path = line[4:].removeprefix("candidate/")
            current.lines.append(("head", line))
        elif line.startswith("@@"):
            current.lines.append(("hunk", line))
        elif line.startswith("+"):
            current.lines.append(("add", line))
        elif line.startswith("-"):
            current.lines.append(("del", line))
        else:
            current.lines.append(("", line))
    return files


def _translated(text: Any) -> Any:
    if isinstance(text, Series):
        items = [_translated(i) for i in text.items]
        if text.joiner == "and":
            # "a, b et c", "a, b y c", "a, b e c": each language's own list (CLDR, via Babel)
            return format_list(items, locale=current_locale()) if len(items) > 1 \
                else "".join(items)
        if text.joiner == "; ":
            # French puts a space before the semicolon; the catalogue says how to join two
            return reduce(lambda first, second: gettext("%(first)s; %(second)s", first=first,
                                                        second=second), items) if items else ""
        return text.joiner.join(items)
    if isinstance(text, Phrase):
        values = {k: _translated(v) for k, v in text.values.items()}
        if text.context:
            out = pgettext(text.context, text.template, **values)
        else:
            out = gettext(text.template, **values) if values else gettext(text.template)
        return out[:1].upper() + out[1:] if text.capital else out
    return text


def say(text: Any) -> str:
    """A sentence of ``appliance.config.summary`` in the reader's language, from its template
    and values (the catalogues have them: docs/translating.md); English as the CLI says it."""
    if current_locale().language == "en":
        return str(text)
    return str(_translated(text))


def plan_lines(changes: list[Change]) -> list[tuple[str, str]]:
    """(plain words in the reader's language, technical line) for each planned change."""
    return [(say(describe_change(c)), str(c)) for c in changes]


def sentences(running: IXPConfig | None, candidate: IXPConfig | None) -> list[str]:
    """What applying ``candidate`` does, in the reader's words (empty when it is not valid)."""
    return [say(s) for s in summarize(running, candidate)] if candidate is not None else []


_FIELD_ERROR = re.compile(r"^(?P<path>[a-z_]+(?:\[\d+\])?(?:\.[a-z_0-9]+(?:\[\d+\])?)*): "
                          r"(?P<msg>.+)$")


def field_errors(text: str) -> list[tuple[str, str]]:
    """(field path, message) for every line of a pipeline error that starts with a path.

    ``"members[5].ports[0].interface: interface ixp6 does not exist in ..."`` gives
    ``("members[5].ports[0].interface", "interface ixp6 does not exist in ...")``. Lines
    without a path are returned with an empty path.
    """
    out: list[tuple[str, str]] = []
    for raw in re.split(r"\n|; (?=[a-z_]+(?:\[\d+\])?[.:])", text):
        line = raw.strip().lstrip("-• ").strip()
        if not line:
            continue
        m = _FIELD_ERROR.match(line)
        out.append((m.group("path"), m.group("msg")) if m else ("", line))
    return out


def review_context(cfg: Any, running: Any, outcome: Any, diff: str) -> dict[str, Any]:
    """What both review pages show: sentences, the plan in words, problems, diffs per file."""
    return {
        "summary": sentences(running, cfg) if outcome.ok else [],
        "plan": plan_lines(outcome.changes) if outcome.ok else [],
        "notices": [c.notice for c in outcome.changes if c.notice] if outcome.ok else [],
        "problems": [] if outcome.ok else (
            [(i.path, i.message) for i in outcome.issues]
            or field_errors(outcome.error or "refused")),
        "files": split_diff(diff) if diff else [],
        "ok": outcome.ok,
    }
