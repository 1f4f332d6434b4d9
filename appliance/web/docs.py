"""The operator guide (``docs/``) served by the box itself, so help works offline.

Pages are the Markdown files of the docs folder rendered to HTML at ``/help/<name>.md``, so the
relative links between them (``lab.md#the-lab``, ``img/wizard/review.png``, ``../README.md``)
work as they do on GitHub. Only files inside the docs folder are ever read.

Where the docs are: ``DOCS_DIR`` in the app config, else ``$IXP_DOCS_DIR``, else
``/usr/share/doc/ixp-appliance`` (where build-image.sh puts them on the image), else the
repository's ``docs/`` (development).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, redirect, render_template, send_file
from markupsafe import Markup

bp = Blueprint("docs", __name__, url_prefix="/help")

IMAGE_DOCS = Path("/usr/share/doc/ixp-appliance")
REPO_DOCS = Path(__file__).resolve().parents[2] / "docs"
_ASSETS = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
           ".svg": "image/svg+xml", ".gif": "image/gif", ".webp": "image/webp"}


def docs_dir() -> Path:
    """The folder the guide is served from (see the module docstring)."""
    configured = current_app.config.get("DOCS_DIR") or os.environ.get("IXP_DOCS_DIR")
    if configured:
        return Path(configured)
    if (IMAGE_DOCS / "setup-wizard.md").is_file():
        return IMAGE_DOCS
    return REPO_DOCS


def resolve(name: str) -> Path | None:
    """The file ``name`` inside the docs folder, or None (missing, or outside the folder)."""
    root = docs_dir().resolve()
    if not name or "\\" in name or "\x00" in name or name.startswith("/"):
        return None
    try:
        path = (root / name).resolve()
    except (OSError, RuntimeError, ValueError):
        return None
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path


_LINK = re.compile(r'<a href="(?P<href>[^"#:]+)(?P<anchor>#[^"]*)?">(?P<text>.*?)</a>', re.S)


def render_markdown(text: str, page: str = "README.md") -> Markup:
    """A guide page as HTML (headings get GitHub-style ids, so #anchors work).

    Relative links that lead outside the docs folder (to the source tree, which the box does
    not serve) become plain text, so no link on the box ends in "not found".
    """
    import markdown  # only for the guide's pages, not in every start of the web UI

    html = markdown.markdown(
        text, extensions=["tables", "fenced_code", "sane_lists", "toc"],
        extension_configs={"toc": {"slugify": _slug}}, output_format="html")
    folder = page.rpartition("/")[0]

    def keep_or_unlink(m: re.Match[str]) -> str:
        target = f"{folder}/{m.group('href')}" if folder else m.group("href")
        if resolve(target) is not None or resolve(target + ".md") is not None:
            return m.group(0)
        return f'<span class="offline-link" title="not on this box">{m.group("text")}</span>'

    return Markup(_LINK.sub(keep_or_unlink, html))  # the docs are the project's own


def _slug(value: str, separator: str) -> str:
    # GitHub's anchors: lower case, punctuation dropped, spaces → '-' ("3. The steps" →
    # "3-the-steps"), so links written for GitHub work here too.
    value = re.sub(r"[^\w\- ]", "", value.strip().lower())
    return value.replace(" ", separator)


def serve(name: str, url_prefix: str) -> Response | str:
    """A page (``*.md``; the suffix may be left out) or an image of the guide, else 404."""
    if "." not in name.rsplit("/", 1)[-1]:
        name += ".md"
    path = resolve(name)
    if path is None:
        abort(404)
    suffix = path.suffix.lower()
    if suffix in _ASSETS:
        return send_file(path, mimetype=_ASSETS[suffix])
    if suffix != ".md":
        abort(404)
    text = path.read_text("utf-8", "replace")
    title = next((line.lstrip("# ").strip() for line in text.splitlines()
                  if line.startswith("# ")), name)
    return render_template("help_page.html", title=title, body=render_markdown(text, name),
                           index_url=f"{url_prefix}/README.md")


@bp.get("/")
def index() -> Response:
    """The guide's table of contents."""
    return redirect("/help/README.md")


@bp.get("/<path:name>")
def page(name: str) -> Response | str:
    """One page or image of the guide."""
    return serve(name, "/help")
