"""Public exports: the IX-F Member Export at its conventional paths (no login, by convention)."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Response, current_app, jsonify

from appliance.config.committed import committed_config
from appliance.export.ixf import member_export

bp = Blueprint("export", __name__)


def ixf_response() -> Response | tuple[Response, int]:
    """The committed configuration as IX-F JSON 1.0."""
    cfg = committed_config(current_app.config["STATE_DIR"])
    if cfg is None:
        return jsonify({"error": "no configuration is committed yet"}), 404
    resp = jsonify(member_export(cfg, datetime.now(UTC)))
    resp.headers["Access-Control-Allow-Origin"] = "*"  # meant to be fetched by anyone
    return resp


@bp.get("/participants.json")
def participants() -> Response | tuple[Response, int]:
    """The IX-F Member Export at the path the IX-F database and PeeringDB expect."""
    return ixf_response()


@bp.get("/api/v1/ixf/member-export")
def member_export_api() -> Response | tuple[Response, int]:
    """The same document under the API prefix."""
    return ixf_response()
