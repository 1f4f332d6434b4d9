"""Every sentence the configuration model can say about a bad configuration has a translation
(issue 17): the loader's, the value parsers', the model's, the rules across fields, the ASN
rules and the schema version's. The sentences are found in the source (every ``Issue(...)``,
``ValueError(...)`` and ``SchemaError(...)`` of ``appliance/config``, the loader's wording of
pydantic's errors, the functions that return a problem), filled in with sample values, and
each must come out in French, Spanish and Portuguese, not English; the field path stays."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from flask import Flask
from flask_babel import Babel, force_locale

from appliance.config.asn import asn_problem
from appliance.config.migrations import newer_message
from appliance.config.model import PATTERN_HINTS
from appliance.web.i18n import _HINTS, _WHATS, issue_line, issue_text

CONFIG = Path(__file__).resolve().parents[2] / "appliance" / "config"
SAMPLE = "7"
# Sentences whose placeholders need a value of a certain shape to read as they do for real.
OVERRIDES = {
    "{}YAML syntax error: {}; check indentation and quoting there":
        ["line 3, column 5: YAML syntax error: mapping values are not allowed here; check "
         "indentation and quoting there",
         "YAML syntax error: found character '\\t'; check indentation and quoting there"],
    "must be {} written as text, got {}": ["must be an IPv4 address written as text, got list"],
    "'{}' is not {}; write it like {}": ["'x' is not an IPv6 prefix; write it like "
                                          "2001:db8::/48"],
    "must be {} {}": ["must be at most 5", "must be at least 1", "must be less than 3",
                      "must be more than 2"],
    "{} is {}; connect the member to a free NIC": ["eth0 is the management NIC; connect the "
                                                   "member to a free NIC"],
}
# Not sentences of the model: messages about the software itself (a broken migration module).
NOT_FOR_USERS = re.compile(r"FROM_VERSION|does not match")


def _template(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _template(node.left), _template(node.right)
        return left + right if left is not None and right is not None else None
    return None


def templates() -> set[str]:
    """Every sentence template of the configuration model's checks."""
    found: set[str] = set()
    for path in sorted(CONFIG.rglob("*.py")):
        if path.name == "generate.py":  # the lab's config generator: its argument, in English
            continue
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                if name in ("Issue", "ValueError", "SchemaError") and node.args:
                    # Issue(path, message): the message; the errors: their only argument
                    texts = [_template(node.args[-1])]
                    found.update(t for t in texts if t and " " in t)
            elif isinstance(node, ast.FunctionDef) and (
                    node.name.endswith("_problem") or node.name == "_friendly"):
                for ret in ast.walk(node):
                    if isinstance(ret, ast.Return) and ret.value is not None:
                        t = _template(ret.value)
                        if t and " " in t:
                            found.add(t)
            elif isinstance(node, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == "_FRIENDLY" for t in node.targets):
                found.update(v.value for v in node.value.values  # type: ignore[attr-defined]
                             if isinstance(v, ast.Constant) and v.value != "{msg}")
    return {t for t in found if not NOT_FOR_USERS.search(t)}


def samples() -> list[str]:
    out = []
    for t in sorted(templates()):
        out += OVERRIDES.get(t, [t.replace("{}", SAMPLE)])
    # the newer-schema sentence is put together from parts: ask the function itself
    out += [newer_message(9, target=2, written_by="0.9.1"), newer_message(9, target=2)]
    for asn, lab in ((0, False), (23456, False), (64496, False), (64512, False),
                     (4200000000, False), (64496, True), (4294967295, False)):
        problem = asn_problem(asn, lab=lab)
        if problem:
            out.append(problem)
    return out


def _app() -> Flask:
    app = Flask("appliance.web")
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(
        Path(__file__).resolve().parents[2] / "appliance" / "web" / "translations")
    Babel(app)
    return app


def test_the_source_has_the_sentences_we_think():
    # a finder that finds nothing proves nothing
    found = templates()
    assert len(found) > 70, len(found)
    assert "must be a list (one '- item' per line)" in found
    assert "{} is outside the peering LAN {}; use an address inside it" in found
    assert "give the route server an ipv4 or ipv6 address (or both)" in found


@pytest.mark.parametrize("lang", ["fr", "es", "pt"])
def test_every_validation_sentence_is_translated(lang):
    app = _app()
    untranslated = []
    with app.app_context(), force_locale(lang):
        for sentence in samples():
            said = issue_text(sentence)
            if said == sentence or said.rstrip(".") == sentence:
                untranslated.append(sentence)
            # the web's form ("Must ...") too
            web = sentence[:1].upper() + sentence[1:] + "."
            if issue_text(web) in (web, sentence):
                untranslated.append(web)
    assert not untranslated, "\n".join(untranslated)


@pytest.mark.parametrize("lang", ["fr", "es", "pt"])
def test_every_pattern_hint_and_kind_of_value_is_translated(lang):
    assert set(PATTERN_HINTS.values()) <= set(_HINTS), set(PATTERN_HINTS.values()) - set(_HINTS)
    kinds = set()
    for node in ast.walk(ast.parse((CONFIG / "types.py").read_text("utf-8"))):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "_text":
            kinds.add(node.args[1].value)  # type: ignore[attr-defined]
    assert kinds and kinds <= set(_WHATS), kinds - set(_WHATS)
    with _app().app_context(), force_locale(lang):
        for english, translate in (*_HINTS.items(), *_WHATS.items()):
            assert str(translate()) != english, (lang, english)


def test_names_at_the_start_keep_their_capitals_and_the_path_stays():
    with _app().app_context(), force_locale("fr"):
        line = issue_line("members[0].asn: AS64512 is a private ASN (RFC 6996); IXP members "
                          "need a public ASN from their RIR")
        assert line.startswith("members[0].asn: AS64512 ") and "privé" in line, line
        snmp = issue_text("SNMP is enabled but has no community or user; add an SNMPv3 user "
                          "(recommended) or a v2c community")
        assert snmp.startswith("SNMP ") and not snmp.endswith("."), snmp
        lab = issue_text("AS64496 is reserved for documentation (RFC 5398) (allowed only in a "
                         "config marked 'lab: true')")
        assert "lab: true" in lab and "documentation" in lab and "allowed" not in lab, lab
