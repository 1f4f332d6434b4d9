"""The operator guide is served by the box (offline), each wizard step links to its part, and
nothing outside the docs folder can be read through it."""

from __future__ import annotations

import re

import pytest

from appliance.web.wizard.steps import STEPS

from ..conftest import ROOT
from .test_wizard_flow import _start


def test_pages_links_and_images(client):
    page = client.get("/help/setup-wizard.md")
    assert page.status_code == 200
    html = page.data.decode()
    assert "<h1" in html and "The setup wizard" in html and "docs.css" in html
    # relative links between pages and to images work as written in the Markdown
    assert 'href="resolver.md"' in html
    assert client.get("/help/resolver.md").status_code == 200
    img = re.search(r'<img alt="[^"]*" src="(img/wizard/[^"]+\.png)"', html)
    assert img, "the screenshots are linked relatively"
    shot = client.get("/help/" + img.group(1))
    assert shot.status_code == 200 and shot.mimetype == "image/png"
    assert shot.data.startswith(b"\x89PNG")
    assert client.get("/help/adding-a-member").status_code == 200, ".md may be left out"
    assert client.get("/help/").headers["Location"].endswith("/help/README.md")
    assert client.get("/help/static").status_code == 404


def test_every_step_anchor_exists(client):
    html = client.get("/help/setup-wizard.md").data.decode()
    for st in STEPS:
        assert st.help_anchor and f'id="{st.help_anchor}"' in html, st.name
    assert 'id="4-review"' in html


@pytest.mark.parametrize("path", [
    "../pyproject.toml", "..%2Fpyproject.toml", "img/../../README.md", "%2e%2e/README.md",
    "/etc/passwd", "..\\README.md", "../appliance/web/docs.py", "img/../../../etc/hostname",
])
def test_no_path_traversal(client, path):
    resp = client.get("/help/" + path)
    assert resp.status_code in (404, 308), (path, resp.status_code)
    assert b"[project]" not in resp.data and b"root:" not in resp.data


def test_symlink_out_of_the_docs_is_refused(configured, tmp_path):
    from appliance.web import create_app

    from .conftest import ADMIN, PASSWORD, csrf
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "README.md").write_text("# Guide\n\n[x](x.md)\n")
    (tmp_path / "secret.md").write_text("# secret\n")
    (docs / "x.md").symlink_to(tmp_path / "secret.md")
    c = create_app(configured, {"DOCS_DIR": str(docs)}).test_client()
    page = c.get("/login")
    c.post("/login", data={"name": ADMIN, "password": PASSWORD, "csrf_token": csrf(page.data)})
    assert b"Guide" in c.get("/help/README.md").data
    assert c.get("/help/x.md").status_code == 404


def test_wizard_steps_link_to_their_help(tmp_path):
    c = _start(tmp_path)
    for st in STEPS:
        html = c.get(f"/wizard/{st.name}").data.decode()
        link = f'href="/wizard/help/setup-wizard.md#{st.help_anchor}"'
        assert link in html, st.name
    # the wizard keeps a new admin inside it, so its help is served under /wizard/help
    page = c.get("/wizard/help/setup-wizard.md")
    assert page.status_code == 200 and b"The setup wizard" in page.data
    assert c.get("/wizard/help/../pyproject.toml").status_code == 404


def test_member_form_links_to_its_help(client):
    assert b'href="/help/adding-a-member"' in client.get("/members/new").data


def test_rpki_and_irr_choices_each_have_a_sentence(tmp_path):
    c = _start(tmp_path)
    html = c.get("/wizard/route_server").data.decode()
    assert "Reject: a route that the owner" in html and "Only tag: such routes" in html
    assert "Off: the route server does not look at RPKI" in html
    assert "Reject: a member" in html and "until it is loaded, routes are accepted" in html
    assert "Off: members" in html and "routes are not compared with the IRR" in html


def test_docs_ship_on_the_image():
    script = (ROOT / "build-image.sh").read_text()
    assert "/usr/share/doc/ixp-appliance" in script and "$repo/docs/." in script
    from appliance.web import docs
    assert docs.IMAGE_DOCS.as_posix() == "/usr/share/doc/ixp-appliance"


def test_links_out_of_the_docs_become_text(client):
    html = client.get("/help/install.md").data.decode()
    assert 'href="../systemd/README.md"' not in html
    assert 'class="offline-link"' in html
    assert 'href="setup-wizard.md"' in client.get("/help/README.md").data.decode()
