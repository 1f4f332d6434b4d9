"""Reading the web UI's forms as a browser would: shared by the tests and the image harness."""

from __future__ import annotations

import re


def form_fields(html: bytes | str, action: str) -> dict[str, str]:
    """The hidden inputs of the form posting to ``action`` (CSRF token, candidate, digest):
    what the browser sends when that form's button is clicked."""
    text = html.decode() if isinstance(html, bytes) else html
    m = re.search(r'<form[^>]*action="' + re.escape(action) + r'"[^>]*>(.*?)</form>', text,
                  re.S)
    assert m, f"page has no form posting to {action}"
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', m.group(1)))
