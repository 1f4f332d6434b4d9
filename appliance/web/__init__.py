"""The appliance's web application (Flask app factory; one blueprint per area)."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from flask import Flask


def create_app(state_dir: str | Path, test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app for ``state_dir``; ``test_config`` overrides settings in tests."""
    app = Flask(__name__)
    app.config.update(
        STATE_DIR=Path(state_dir),
        SECRET_KEY=secrets.token_hex(32),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
    )
    if test_config:
        app.config.update(test_config)

    from appliance.web import status

    app.register_blueprint(status.bp)

    @app.after_request
    def security_headers(resp):  # noqa: ANN001 (Flask hook)
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Referrer-Policy", "no-referrer")
        resp.headers.setdefault("Content-Security-Policy",
                                "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
        return resp

    return app
