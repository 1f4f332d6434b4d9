"""Turn YAML text into a validated ``IXPConfig``, or a ``ConfigError`` listing every problem.

Nothing a user can put in the file may escape as a traceback: YAML syntax errors, aliases
(a "billion laughs" bomb), deep nesting, wrong types and huge values all become ``Issue``s.
"""

from __future__ import annotations

import math
from pathlib import Path
from types import GeneratorType
from typing import Any

import yaml
from pydantic import ValidationError

from appliance.config import migrations
from appliance.config.errors import ConfigError, Issue, join_path
from appliance.config.model import PATTERN_HINTS, IXPConfig
from appliance.config.semantic import check_config

MAX_CONFIG_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 32

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _check_node(root: yaml.Node) -> None:
    """Refuse aliases and absurd nesting before anything is constructed from the tree."""
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, int]] = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        if id(node) in seen:
            raise ConfigError([Issue("", f"line {node.start_mark.line + 1}: YAML aliases "
                                     "(*name) are not supported; write the value out in full")])
        seen.add(id(node))
        if depth > MAX_DEPTH:
            raise ConfigError([Issue("", f"line {node.start_mark.line + 1}: the file is nested "
                                     f"more than {MAX_DEPTH} levels deep; check its indentation")])
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.append((key, depth + 1))
                stack.append((value, depth + 1))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((child, depth + 1) for child in node.value)


class _Unusual(Exception):
    """The document uses something only PyYAML's composer handles (see ``_from_events``)."""


_MAP_TAGS = (None, "!", "tag:yaml.org,2002:map")
_SEQ_TAGS = (None, "!", "tag:yaml.org,2002:seq")
_KEY_TAGS_LEFT = ("tag:yaml.org,2002:merge", "tag:yaml.org,2002:value")


def _alias_refused(mark: yaml.Mark) -> ConfigError:
    return ConfigError([Issue("", f"line {mark.line + 1}: YAML aliases (*name) are not "
                              "supported; write the value out in full")])


def _from_events(text: str) -> Any:
    """The document built straight from the parser's events, as PyYAML's safe loader builds
    it, without its tree of nodes: for a 1000-member file that tree is some 10 MiB of
    temporaries, which the resident web UI kept as free heap after each revision (issue 14).
    Aliases and nesting deeper than ``MAX_DEPTH`` are refused as ``_check_node`` does; a
    collection with an explicit tag or a merge key raises ``_Unusual``."""
    loader = _Loader(text)
    try:
        loader.get_event()  # stream start
        if loader.check_event(yaml.StreamEndEvent):
            return None
        loader.get_event()  # document start
        # each open collection: [container, pending key, key seen]; the root's holder first
        root: list[Any] = []
        stack: list[list[Any]] = [[root, None, False]]

        def add(value: Any, mark: yaml.Mark) -> None:
            top = stack[-1]
            container = top[0]
            if isinstance(container, dict):
                if not top[2]:
                    try:
                        hash(value)
                    except TypeError:
                        raise yaml.constructor.ConstructorError(
                            "while constructing a mapping", None, "found unhashable key",
                            mark) from None
                    top[1], top[2] = value, True
                else:
                    container[top[1]] = value
                    top[1], top[2] = None, False
            else:
                container.append(value)

        while not loader.check_event(yaml.DocumentEndEvent):
            event = loader.get_event()
            if isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                done = stack.pop()[0]
                add(done, event.start_mark)
                continue
            if isinstance(event, yaml.AliasEvent):
                raise _alias_refused(event.start_mark)
            if len(stack) - 1 > MAX_DEPTH:
                raise ConfigError([Issue("", f"line {event.start_mark.line + 1}: the file is "
                                         f"nested more than {MAX_DEPTH} levels deep; check "
                                         "its indentation")])
            if isinstance(event, yaml.ScalarEvent):
                tag = event.tag
                if tag is None or tag == "!":
                    tag = loader.resolve(yaml.ScalarNode, event.value, event.implicit)
                if tag in _KEY_TAGS_LEFT:
                    raise _Unusual(tag)
                node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark,
                                       style=event.style)
                make = loader.yaml_constructors.get(tag) or loader.yaml_constructors[None]
                value = make(loader, node)
                if isinstance(value, GeneratorType):  # a collection's tag on a scalar
                    raise _Unusual(tag)
                add(value, event.start_mark)
            elif isinstance(event, yaml.MappingStartEvent):
                if event.tag not in _MAP_TAGS:
                    raise _Unusual(event.tag)
                stack.append([{}, None, False])
            elif isinstance(event, yaml.SequenceStartEvent):
                if event.tag not in _SEQ_TAGS:
                    raise _Unusual(event.tag)
                stack.append([[], None, False])
        loader.get_event()  # document end
        if not loader.check_event(yaml.StreamEndEvent):
            event = loader.get_event()
            raise yaml.composer.ComposerError("expected a single document in the stream",
                                              None, "but found another document",
                                              event.start_mark)
        return root[0]
    finally:
        loader.dispose()


def parse_yaml(text: str) -> Any:
    """Parse YAML text safely; raise ``ConfigError`` with the line of any syntax error."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_CONFIG_BYTES:
        raise ConfigError([Issue("", f"the file is larger than {MAX_CONFIG_BYTES // 2**20} MiB; "
                                 "this is not an appliance configuration")])
    try:
        try:
            return _from_events(text)
        except _Unusual:
            # a tag or key the event path leaves to PyYAML's own composer (never written by
            # the appliance): the whole tree first, checked, then constructed
            loader = _Loader(text)
            try:
                node = loader.get_single_node()
                if node is None:
                    return None
                _check_node(node)
                return loader.construct_document(node)
            finally:
                loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError([Issue("", f"{where}YAML syntax error: {exc.problem or exc}; "
                                 "check indentation and quoting there")]) from None
    except (yaml.YAMLError, ValueError, TypeError, RecursionError, OverflowError) as exc:
        raise ConfigError([Issue("", f"the file is not valid YAML ({exc.__class__.__name__}: "
                                 f"{str(exc)[:200]})")]) from None


_FRIENDLY = {
    "missing": "is required; add it",
    "extra_forbidden": "is not a known setting; check its spelling or remove it",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "string_type": "must be text",
    "list_type": "must be a list (one '- item' per line)",
    "model_type": "must be a section with its own settings (key: value lines)",
    "model_attributes_type": "must be a section with its own settings (key: value lines)",
    "dict_type": "must be a section with its own settings (key: value lines)",
    "value_error": "{msg}",
}


def _friendly(err: dict[str, Any]) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind in ("less_than_equal", "greater_than_equal", "less_than", "greater_than"):
        lo_hi = {"less_than_equal": "at most", "greater_than_equal": "at least",
                 "less_than": "less than", "greater_than": "more than"}[kind]
        bound = next(iter(ctx.values()), "")
        return f"must be {lo_hi} {bound}"
    if kind == "too_short":
        return f"needs at least {ctx.get('min_length')} item(s)"
    if kind == "too_long":
        return f"may have at most {ctx.get('max_length')} items"
    if kind == "string_too_short":
        return f"must be at least {ctx.get('min_length')} characters long"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters long"
    if kind == "string_pattern_mismatch":
        hint = PATTERN_HINTS.get(str(ctx.get("pattern")), f"expected {ctx.get('pattern')}")
        return f"has characters or a form that is not allowed here: {hint}"
    if kind in ("literal_error", "enum"):
        return f"must be one of {ctx.get('expected')}"
    if kind == "value_error":
        msg = str(ctx.get("error", err.get("msg", "")))
        return msg.removeprefix("Value error, ")
    if kind in _FRIENDLY:
        return _FRIENDLY[kind]
    return str(err.get("msg", "is not valid"))


def issues_from_validation_error(exc: ValidationError) -> list[Issue]:
    """Pydantic's errors as operator-readable issues, one per field."""
    issues: list[Issue] = []
    for err in exc.errors(include_url=False):
        # Union types add a branch name ("function-before[...]") to the location; drop it.
        loc = [p for p in err["loc"] if isinstance(p, int) or not str(p).startswith(
            ("function-", "lax-", "str", "literal[", "IPv", "is-instance[", "json-or-python"))]
        if err["type"] == "email" or "email" in str(err.get("msg", "")).lower():
            msg = "is not a valid e-mail address; write it like noc@example.net"
        else:
            msg = _friendly(err)
        issues.append(Issue(join_path(loc), msg))
    # One line per field: unions can report the same field once per branch.
    unique: dict[str, Issue] = {}
    for issue in issues:
        unique.setdefault(issue.path, issue)
    return list(unique.values())


def _reject_non_finite(data: Any, path: tuple[int | str, ...] = ()) -> list[Issue]:
    # YAML has .inf and .nan; neither is ever a sensible setting.
    if isinstance(data, float) and not math.isfinite(data):
        return [Issue(join_path(path), "must be a finite number")]
    if isinstance(data, dict):
        out: list[Issue] = []
        for k, v in data.items():
            out += _reject_non_finite(v, (*path, str(k)))
        return out
    if isinstance(data, list):
        return [i for n, v in enumerate(data) for i in _reject_non_finite(v, (*path, n))]
    return []


def config_from_data(data: Any) -> IXPConfig:
    """Validate already-parsed data (from YAML, JSON or a form) into an ``IXPConfig``."""
    if data is None:
        raise ConfigError([Issue("", "the configuration is empty; start from "
                                 "examples/small-island.yaml")])
    if not isinstance(data, dict):
        raise ConfigError([Issue("", "the configuration must be a set of 'key: value' sections "
                                 f"(identity, peering_lan, ...), not a {type(data).__name__}")])
    bad_keys = [k for k in data if not isinstance(k, str)]
    if bad_keys:
        raise ConfigError([Issue(str(k), "top-level keys must be section names such as "
                                 "identity or members") for k in bad_keys[:10]])
    non_finite = _reject_non_finite(data)
    if non_finite:
        raise ConfigError(non_finite)
    try:
        # An older schema is brought up to this software's before the model sees it.
        data = migrations.migrate_data(data).data
    except migrations.SchemaError as exc:
        raise ConfigError([Issue("version", str(exc))]) from None
    try:
        cfg = IXPConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(issues_from_validation_error(exc)) from None
    except (RecursionError, OverflowError, TypeError, ValueError) as exc:
        raise ConfigError([Issue("", f"the configuration could not be read: {exc}")]) from None
    issues = check_config(cfg)
    if issues:
        raise ConfigError(issues)
    return cfg


def load_config_text(text: str) -> IXPConfig:
    """Parse and validate YAML text."""
    return config_from_data(parse_yaml(text))


def load_config_file(path: str | Path) -> IXPConfig:
    """Read, parse and validate a YAML file; unreadable files become a ``ConfigError`` too."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ConfigError([Issue("", f"cannot read {p}: {exc.strerror or exc}")]) from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError([Issue("", f"{p} is larger than {MAX_CONFIG_BYTES // 2**20} MiB; "
                                 "this is not an appliance configuration")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError([Issue("", f"{p} is not UTF-8 text (byte {exc.start}); save it as "
                                 "UTF-8")]) from None
    return load_config_text(text)


def dump_config(cfg: IXPConfig) -> str:
    """The canonical YAML of a config: what the revision store keeps and diffs.

    Defaults are left out so a revision shows what the operator chose; the software version
    recorded with each revision pins what the defaults were.
    """
    data = cfg.model_dump(mode="json", exclude_defaults=True)
    if cfg.version != migrations.IMPLICIT_VERSION:
        # Written from schema 2 on, first: a text without it is read as schema 1, so the
        # default being left out would make a newer text look older.
        data = {"version": cfg.version, **data}
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
