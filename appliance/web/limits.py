"""How large a request may be, and how deeply a JSON body may nest.

Without bounds a few large POSTs (a login with a megabyte user name, say) hold their bodies in
memory and a deeply nested JSON body overflows the parser's recursion. Every request gets the
limit of its kind before anything reads its body (before the CSRF check, which reads forms):

- the IRR data file uploads: ``MAX_UPLOAD`` (IRR data of large AS-SETs runs to megabytes; the
  image's nginx takes no more either: client_max_body_size 16m);
- the JSON API: ``MAX_API_BODY`` (a whole configuration);
- the login and setup forms: ``MAX_LOGIN_BODY`` (anyone may send those);
- every other form: ``MAX_FORM_BODY``;
- a firmware bundle (``firmware.upload``): ``MAX_BUNDLE``, streamed to the data partition,
  never held in memory (nginx takes that much only on /firmware/upload).
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, abort, request

MAX_UPLOAD = 16 * 1024 * 1024
MAX_API_BODY = 16 * 1024 * 1024
MAX_FORM_BODY = 1024 * 1024
MAX_LOGIN_BODY = 16 * 1024
MAX_BUNDLE = 2 * 1024 * 1024 * 1024
MAX_JSON_DEPTH = 64  # the configuration itself nests about 6 levels deep

_UPLOADS = {"members.irr_import", "wizard.irr_import", "setup.restore"}  # + a backup file


class BodyError(ValueError):
    """The request body cannot be used; the message says why and what to do."""


def limit_for(endpoint: str) -> int:
    """The largest body, in bytes, a request to ``endpoint`` may send."""
    if endpoint in _UPLOADS:
        return MAX_UPLOAD
    if endpoint == "firmware.upload":
        return MAX_BUNDLE
    if endpoint.startswith("api."):
        return MAX_API_BODY
    if endpoint == "auth.login" or endpoint.startswith("setup."):
        return MAX_LOGIN_BODY
    return MAX_FORM_BODY


def _human(n: int) -> str:
    return f"{n // (1024 * 1024)} MiB" if n >= 1024 * 1024 else f"{n // 1024} KiB"


def register(app: Flask) -> None:
    """Bound every request's body; call before anything that reads bodies is registered."""
    app.config.setdefault("MAX_CONTENT_LENGTH", MAX_UPLOAD)

    @app.before_request
    def _limit_body() -> None:
        endpoint = request.endpoint or ""
        limit = limit_for(endpoint)
        if endpoint != "firmware.upload":  # the one body that is streamed, not kept
            limit = min(limit, app.config["MAX_CONTENT_LENGTH"] or MAX_UPLOAD)
        # Also enforced while reading a body sent without a length (chunked).
        request.max_content_length = limit
        if request.content_length is not None and request.content_length > limit:
            abort(413, f"The request is larger than {_human(limit)}, the most this address "
                       "takes. Send less: nothing was changed.")


def json_depth(value: Any) -> int:
    """How deeply ``value`` nests lists and objects (a scalar: 0); no recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((c, depth + 1) for c in children)
    return deepest


def parse_json(raw: bytes) -> Any:
    """The JSON in ``raw``, or None when it is not JSON at all (the caller's validation then
    says what is missing); ``BodyError`` when it nests more than ``MAX_JSON_DEPTH`` levels."""
    too_deep = (f"the JSON body nests lists or objects more than {MAX_JSON_DEPTH} levels "
                "deep; a configuration needs far fewer: send one as GET /api/v1/config shows")
    try:
        value = json.loads(raw)
    except RecursionError:  # deeper than the parser goes
        raise BodyError(too_deep) from None
    except ValueError:
        return None
    if json_depth(value) > MAX_JSON_DEPTH:
        raise BodyError(too_deep)
    return value
