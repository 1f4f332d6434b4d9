"""Small copies of the every-page screenshots for docs/img/pages/, made with Chromium itself
(crop the top, scale to 60 %), so the docs need no image library."""

from __future__ import annotations

from pathlib import Path

# screenshot name -> how much of the page's top to keep (screenshot pixels, 1280 wide)
DOCS_PAGES: dict[str, int] = {
    "setup-code": 700, "setup-admin": 800, "wizard-identity": 1100, "wizard-peering_lan": 1100,
    "wizard-review": 1100, "wizard-progress": 700, "status": 1500, "members": 800,
    "member-form-edit": 1100, "change-review": 1100, "graphs-traffic": 1200,
    "graphs-prefixes": 1200, "member-page": 1200, "lg-index": 1000, "lg-session": 1200,
    "history": 800, "history-diff": 900, "users": 1010, "api-docs": 1100, "not-found": 600,
    "login": 600, "data": 1000, "management": 900,
}
SCALE = 0.6
WIDTH = 1280


def shrink(page, src: Path, dst: Path, crop: int, scale: float = SCALE) -> Path:
    """Write the top ``crop`` pixels of the screenshot ``src``, scaled by ``scale``, to ``dst``
    (``page``: a spare browser page; it is navigated to a local file)."""
    width = round(WIDTH * scale)
    frame = dst.with_suffix(".html")
    frame.write_text(f'<html><body style="margin:0"><div id="c" style="width:{width}px;'
                     f'height:{round(crop * scale)}px;overflow:hidden"><img alt="" '
                     f'src="{src.resolve().as_uri()}" style="width:{width}px;display:block">'
                     '</div></body></html>')
    try:
        page.goto(frame.resolve().as_uri())
        page.wait_for_load_state("load")
        page.evaluate("() => { const c = document.querySelector('#c'); c.style.height = "
                      "Math.min(c.offsetHeight, document.querySelector('img').offsetHeight) "
                      "+ 'px'; }")
        page.locator("#c").screenshot(path=str(dst))
    finally:
        frame.unlink(missing_ok=True)
    return dst


def docs_copies(page, shots: dict[str, Path], folder: Path) -> list[Path]:
    """The small copies of the DOCS_PAGES among ``shots`` (name -> screenshot) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    return [shrink(page, shots[name], folder / f"{name}.png", crop)
            for name, crop in DOCS_PAGES.items() if name in shots]
