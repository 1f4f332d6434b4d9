"""The catalogues: every message of the web UI translated in each language, none fuzzy or empty,
and the wizard's input kept when the language changes."""

from __future__ import annotations

import html
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from appliance.web import create_app

from .conftest import csrf, logged_in

ROOT = Path(__file__).parents[2]
WEB = ROOT / "appliance" / "web"
LANGS = ("fr", "es", "pt")


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> set:
    """(msgid, context) of every message pybabel extracts, as docs/translating.md runs it,
    from the code and templates as they are now (the change summaries' sentences too)."""
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract",
                    "-F", str(WEB / "babel.cfg"), "-k", "_l", "-k", "Phrase",
                    "-k", "_term:1c,2", "-o", str(pot), str(WEB),
                    "appliance/config/summary.py"],
                   check=True, cwd=ROOT, capture_output=True)
    with pot.open("rb") as f:
        return {(m.id, m.context) for m in read_po(f) if m.id}


@pytest.mark.parametrize("lang", LANGS)
def test_catalogue_is_complete(extracted, lang):
    with (WEB / "translations" / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
        cat = read_po(f)
    assert len(extracted) > 400, "extraction found almost nothing: babel.cfg is broken"
    assert ("%(who)s joins the exchange: %(parts)s.", None) in extracted \
        and ("IPv4 address", "member setting") in extracted, \
        "the change summaries' sentences (appliance/config/summary.py) were not extracted"
    have = {(m.id, m.context): m for m in cat if m.id}
    missing = sorted(str(i) for i in extracted - set(have))
    assert not missing, f"{lang}: untranslated (run the update in docs/translating.md): {missing}"
    fuzzy = sorted(str(m.id) for m in have.values() if m.fuzzy)
    assert not fuzzy, f"{lang}: fuzzy entries: {fuzzy}"
    empty = sorted(str(m.id) for m in have.values()
                   if not m.string or (isinstance(m.string, tuple) and not all(m.string)))
    assert not empty, f"{lang}: empty entries: {empty}"


def test_pages_come_out_translated(configured):
    c = logged_in(configured)
    for lang, word in (("fr", "Serveur de routes"), ("es", "Servidor de rutas"),
                       ("pt", "Servidor de rotas")):
        text = c.get("/", headers={"Accept-Language": lang}).get_data(as_text=True)
        assert word in text, f"{lang}: the .mo file is missing or stale (./dev.sh setup)"


def test_switching_language_keeps_the_wizard_input(tmp_path):
    from .test_wizard_flow import _start, _submit
    c = _start(tmp_path)
    page = _submit(c, "identity", {"name": "Île Exchange", "short_name": "IEX",
                                   "country": "Fiji", "contact_email": "noc@iex.example"})
    assert page.status_code == 400
    token = csrf(c.get("/wizard/identity").data)
    resp = c.post("/language", data={"language": "fr", "next": "/wizard/identity",
                                     "csrf_token": token})
    assert resp.headers["Location"] == "/wizard/identity"
    text = c.get("/wizard/identity").get_data(as_text=True)
    assert 'lang="fr"' in text and "Votre point d'échange" in text
    assert 'value="Île Exchange"' in text and 'value="Fiji"' in text
    # the mistake, checked again, is told in French next to its field
    again = _submit(c, "identity", {"name": "Île Exchange", "short_name": "IEX",
                                    "country": "Fiji", "contact_email": "noc@iex.example"})
    assert "code pays ISO 3166 à deux lettres" in again.get_data(as_text=True)
    assert create_app  # the module's app factory is the one the wizard runs in


def test_sentences_built_in_python_come_out_translated(configured):
    """Errors and flash messages made in the web code, not only template texts."""
    c = create_app(configured).test_client()
    fr = {"Accept-Language": "fr"}
    page = c.get("/login", headers=fr)
    wrong = c.post("/login", headers=fr, data={"name": "nobody", "password": "x",
                                               "csrf_token": csrf(page.data)})
    assert "Nom d'utilisateur ou mot de passe incorrect." in html.unescape(
        wrong.get_data(as_text=True))
    c = logged_in(configured)
    es = {"Accept-Language": "es"}
    page = c.get("/data", headers=es)
    resp = c.post("/data/irr", headers=es, data={"csrf_token": csrf(page.data)},
                  follow_redirects=True)
    assert "Primero elija un archivo" in resp.get_data(as_text=True)


def test_every_route_server_reason_reads_in_each_language(configured):
    """The looking glass shows reject reasons and tags (BIRD's English texts) in words of the
    reader's language: each reason has its translatable entry, the ASPA ones too."""
    from flask_babel import force_locale

    from appliance.route_server.communities import INFO_TAGS, REJECT_REASONS
    from appliance.web.filters import ROUTE_WORDS, route_words

    app = create_app(configured)
    with app.test_request_context(), force_locale("en"):
        for r in (*REJECT_REASONS, *INFO_TAGS):
            assert str(ROUTE_WORDS[r.key]) == r.text, r.key  # the same English text
    aspa = next(r for r in REJECT_REASONS if r.key == "aspa_invalid")
    tagged = next(r for r in INFO_TAGS if r.key == "aspa_invalid_tagged")
    with app.test_request_context():
        for lang, word in (("fr", "ASPA invalide : un AS du chemin"),
                           ("es", "ASPA inválida: un AS del camino"),
                           ("pt", "ASPA inválida: um AS do caminho")):
            with force_locale(lang):
                assert route_words(aspa.text).startswith(word), lang
                assert route_words(tagged.text) != tagged.text, lang
