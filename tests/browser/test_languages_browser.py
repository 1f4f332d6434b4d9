"""The box in a volunteer's own language, in a real browser on a lab box: the whole setup wizard
in French (one mistake included, told in French next to its field), then the dashboard and the
looking glass in Spanish and in Portuguese, each chosen with the footer's switch."""

from __future__ import annotations

from appliance.config.revisions import RevisionStore

from .conftest import wait_for_sessions

PASSWORD = "île aux serveurs de routes"


def _switch(page, language: str) -> None:
    """Choose ``language`` with the footer's switch and wait for the page to come back in it."""
    page.select_option("#language", language)
    page.click(".language-switch button[type=submit]")
    page.wait_for_selector(f"html[lang={language}]")


def _h1(page) -> str:
    return page.inner_text("h1").strip()



def _field_error(page, field_id: str) -> str:
    """The error shown in the same field block as the input ``field_id``."""
    block = page.locator(".field.has-error", has=page.locator(f"#{field_id}"))
    assert block.count() == 1, f"no error next to #{field_id}"
    return block.locator(".error").inner_text()


def test_wizard_in_french_then_dashboard_and_looking_glass_in_spanish_and_portuguese(
        demo, browser_page, shots):
    url, code, state_dir = demo
    page = browser_page
    page.goto(url)
    assert page.url.endswith("/setup")
    assert _h1(page) == "Welcome", "the browser asks for English: the page starts in English"

    # French from the footer of the very first page, kept across the setup code's new session
    _switch(page, "fr")
    assert _h1(page) == "Bienvenue"
    assert "Code d'installation" in page.inner_text("main")
    shots(page, "fr-setup-code")
    page.fill("#code", code)
    page.click("button[type=submit]")
    assert page.url.endswith("/setup/admin")
    assert _h1(page) == "Votre compte administrateur"
    page.fill("#name", "admin")
    page.fill("#password", PASSWORD)
    page.fill("#password2", PASSWORD)
    shots(page, "fr-admin-account")
    page.click("button[type=submit]")

    # identity, with the one deliberate mistake: a country name where the code belongs
    assert page.url.endswith("/wizard/identity")
    assert page.get_attribute("html", "lang") == "fr"
    assert _h1(page) == "Votre point d'échange"
    assert "Langue du boîtier" in page.inner_text("main")
    assert page.inner_text("button[value=next]").strip() == "Suivant"
    page.fill("#f-country", "Fiji")
    page.click("button[value=next]")
    error = _field_error(page, "f-country")
    assert "code pays ISO 3166 à deux lettres majuscules" in error, error
    assert "two-letter" not in error
    shots(page, "fr-identity-mistake")
    page.fill("#f-country", "FJ")
    page.click("button[value=next]")

    assert page.url.endswith("/wizard/management")
    assert _h1(page) == "Réseau d'administration"
    assert "Fuseau horaire" in page.inner_text("main")
    page.select_option("#f-timezone", "Pacific/Tongatapu")
    shots(page, "fr-management")
    page.click("button[value=next]")

    assert page.url.endswith("/wizard/peering_lan")
    assert _h1(page) == "LAN de peering"
    shots(page, "fr-peering-lan")
    page.click("button[value=next]")

    assert page.url.endswith("/wizard/route_server")
    assert _h1(page) == "Serveur de routes"
    assert "Seulement marquer : les routes non enregistrées" in page.inner_text("main")
    shots(page, "fr-route-server")
    page.click("button[value=next]")

    assert page.url.endswith("/wizard/services")
    assert "Faire tourner un résolveur pour les membres" in page.inner_text("main")
    shots(page, "fr-services")
    page.click("button[value=next]")

    assert page.url.endswith("/wizard/snmp")
    assert _h1(page) == "Supervision (SNMP)"
    page.click("button[value=next]")

    assert page.url.endswith("/wizard/alerts")
    assert _h1(page) == "Alertes (facultatif)"
    page.click("button[value=next]")

    assert page.url.endswith("/wizard/review")
    assert _h1(page) == "Vérification"
    main = page.inner_text("main")
    assert "Tout est correct." in main and "Ce qui va se passer" in main
    # what will happen, in French sentences (the CLI says them in English)
    assert "Le fuseau horaire : Pacific/Fiji → Pacific/Tongatapu." in main
    assert "Le compte admin (administrateur) peut se connecter." in main
    assert "The time zone" not in main and "can log in" not in main
    shots(page, "fr-review")
    assert RevisionStore(state_dir).latest().id == 1, "nothing applied before Apply"

    assert page.inner_text("button.primary").strip() == "Appliquer"
    page.click("button.primary")
    page.wait_for_selector("#result .success", timeout=60_000)
    assert page.inner_text("#apply-heading") == "Appliqué"
    shots(page, "fr-applied")
    assert RevisionStore(state_dir).latest().id == 2
    page.click("text=Aller à la page d'état")
    page.wait_for_selector("text=Changements récents")
    assert _h1(page) == "État"
    shots(page, "fr-status")

    # Spanish: the dashboard, the looking glass and one member's routes
    _switch(page, "es")
    assert _h1(page) == "Estado"
    main = page.inner_text("main")
    assert "Servidor de rutas" in main and "Cambios recientes" in main
    assert "Recent changes" not in main
    shots(page, "es-status")
    wait_for_sessions(page, url + "lg", 2)
    assert page.get_attribute("html", "lang") == "es"
    main = page.inner_text("main")
    assert "Sesiones" in main and "Prefijo o dirección" in main
    assert page.inner_text("form[role=search] button").strip() == "Buscar"
    assert page.locator("th", has_text="Vecino").count() == 1
    shots(page, "es-looking-glass")
    page.click("tbody tr a >> nth=0")
    page.wait_for_selector("#accepted")
    assert page.inner_text("#accepted h2").startswith("Aceptadas (")
    assert page.inner_text("#filtered h2").startswith("Filtradas (")
    assert "rechazadas por el servidor de rutas" in page.inner_text("#filtered h2")
    assert page.locator("#filtered th", has_text="Motivo del filtrado").count() == 1
    # the lab has no ROAs and the wizard loaded no IRR data: the notes say so, in words
    accepted = page.inner_text("#accepted")
    assert "ningún ROA cubre el prefijo" in accepted and "aún no hay datos IRR" in accepted
    shots(page, "es-looking-glass-session")

    # Portuguese: the same pages, switched from the looking glass's own footer
    _switch(page, "pt")
    assert page.inner_text("#accepted h2").startswith("Aceitas (")
    assert page.locator("#filtered th", has_text="Motivo do filtro").count() == 1
    assert "nenhum ROA cobre o prefixo" in page.inner_text("#accepted")
    shots(page, "pt-looking-glass-session")
    page.goto(url + "lg")
    main = page.inner_text("main")
    assert "Sessões" in main and "Prefixo ou endereço" in main
    assert page.inner_text("form[role=search] button").strip() == "Consultar"
    shots(page, "pt-looking-glass")
    page.goto(url)
    assert _h1(page) == "Estado"
    main = page.inner_text("main")
    assert "Servidor de rotas" in main and "Alterações recentes" in main
    shots(page, "pt-status")
