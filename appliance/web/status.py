"""Status page and JSON: the box's status model (``monitor/status.py``) and the lab's sessions."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, jsonify, render_template

from appliance import __version__
from appliance.lab.lab import lab_status
from appliance.monitor.status import box_status

bp = Blueprint("status", __name__)


def collect(state_dir: Path, netns: str | None = None) -> dict[str, Any]:
    """Everything the status page shows (``monitor.status.box_status``, with the lab's state
    when a lab runs)."""
    return box_status(state_dir, netns, lab_status(state_dir))


REFRESH_SECONDS = 30


@bp.get("/")
def index() -> str:
    """The status page (static/dashboard.js refreshes it in place every REFRESH_SECONDS)."""
    return render_template("status.html", s=collect(current_app.config["STATE_DIR"],
                                                    current_app.config.get("NETNS")),
                           now=datetime.now(UTC),
                           refresh_seconds=current_app.config.get("DASHBOARD_REFRESH_SECONDS",
                                                                  REFRESH_SECONDS))


@bp.get("/healthz")
def healthz():  # noqa: ANN201 (Flask response)
    """Liveness for the runner and systemd."""
    return jsonify({"ok": True, "version": __version__})
