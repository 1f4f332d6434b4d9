"""The API reference page: the app's own OpenAPI document turned into plain data for a
template (no Swagger UI, nothing from elsewhere: the box is often offline)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

METHODS = ("get", "post", "put", "patch", "delete")
SCHEMA_PREFIX = "#/components/schemas/"


@dataclass
class Param:
    """One parameter of an operation."""

    name: str
    where: str
    type: str
    required: bool
    description: str


@dataclass
class Operation:
    """One method on one path."""

    method: str
    path: str
    operation_id: str
    summary: str
    public: bool
    params: list[Param] = field(default_factory=list)
    body: str | None = None
    responses: list[tuple[str, str, str]] = field(default_factory=list)  # code, text, type

    @property
    def anchor(self) -> str:
        """The id of the operation's section on the page."""
        return f"op-{self.operation_id}"


@dataclass
class Property:
    """One property of a schema."""

    name: str
    type: str
    required: bool
    default: str
    description: str


@dataclass
class Schema:
    """One component schema."""

    name: str
    description: str
    type: str
    properties: list[Property] = field(default_factory=list)

    @property
    def anchor(self) -> str:
        """The id of the schema's section on the page."""
        return f"schema-{self.name}"


def type_of(schema: dict[str, Any] | None) -> str:
    """A JSON Schema in a few words: ``{'$ref': '…/Member'}`` -> ``'Member'``,
    ``{'type': 'array', 'items': {'type': 'string'}}`` -> ``'list of string'``."""
    if not schema:
        return "any"
    if "$ref" in schema:
        return str(schema["$ref"]).removeprefix(SCHEMA_PREFIX)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " or ".join(dict.fromkeys(type_of(s) for s in schema[key]))
    if "allOf" in schema and len(schema["allOf"]) == 1:
        return type_of(schema["allOf"][0])
    if "const" in schema:
        return json.dumps(schema["const"])
    if "enum" in schema:
        return "one of " + ", ".join(json.dumps(v) for v in schema["enum"])
    kind = schema.get("type", "any")
    if isinstance(kind, list):
        return " or ".join(str(k) for k in kind)
    if kind == "array":
        return f"list of {type_of(schema.get('items'))}"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return f"map of {type_of(schema['additionalProperties'])}"
    if "format" in schema:
        return f"{kind} ({schema['format']})"
    return str(kind)


def _content_type(content: dict[str, Any] | None) -> str:
    if not content:
        return ""
    media = content.get("application/json") or next(iter(content.values()))
    return type_of(media.get("schema"))


def operations(doc: dict[str, Any]) -> list[Operation]:
    """Every operation of ``doc`` in the document's order."""
    default_security = doc.get("security", [])
    out = []
    for path, item in doc.get("paths", {}).items():
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            params = [Param(p["name"], p.get("in", ""), type_of(p.get("schema")),
                            bool(p.get("required")), p.get("description", ""))
                      for p in op.get("parameters", [])]
            body = op.get("requestBody")
            responses = [(str(code), r.get("description", ""), _content_type(r.get("content")))
                         for code, r in op.get("responses", {}).items()]
            out.append(Operation(method.upper(), path, op.get("operationId", f"{method}{path}"),
                                 op.get("summary", ""),
                                 public=op.get("security", default_security) == [],
                                 params=params,
                                 body=_content_type(body.get("content")) if body else None,
                                 responses=sorted(responses)))
    return out


def _default(prop: dict[str, Any]) -> str:
    """The default as JSON; an object's defaults are its schema's own."""
    if "default" not in prop:
        return ""
    value = prop["default"]
    if value in ([], {}):
        return "empty"
    if isinstance(value, dict):
        return "its own defaults"
    return json.dumps(value, ensure_ascii=False)


def schemas(doc: dict[str, Any]) -> list[Schema]:
    """Every component schema of ``doc``, by name."""
    out = []
    for name, schema in sorted(doc.get("components", {}).get("schemas", {}).items()):
        required = set(schema.get("required", []))
        props = [Property(key, type_of(prop), key in required, _default(prop),
                          prop.get("description", ""))
                 for key, prop in schema.get("properties", {}).items()]
        out.append(Schema(name, schema.get("description", ""), type_of(schema), props))
    return out


def type_linker(names: set[str]) -> Callable[[str], Markup]:
    """A function that shows a type text with every schema name in it linked to its section."""
    def link(text: str) -> Markup:
        parts = re.split(r"([A-Za-z_][A-Za-z0-9_]*)", text)
        return Markup("").join(
            Markup('<a href="#schema-{0}"><code>{0}</code></a>').format(part)
            if part in names else escape(part) for part in parts)
    return link
