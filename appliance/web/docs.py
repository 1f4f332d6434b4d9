"""The operator guide (``docs/``) served by the box itself, so help works offline."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("docs", __name__, url_prefix="/help")
