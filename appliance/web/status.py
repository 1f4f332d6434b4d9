"""Status page and JSON: the box's status model (``monitor/status.py``) and the lab's sessions."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, jsonify, render_template

from appliance import __version__
from appliance.lab.lab import lab_status
from appliance.monitor.status import box_status
from appliance.platform.target import Target
from appliance.web.where import current_target

bp = Blueprint("status", __name__)


_FIRMWARE_CACHE: dict[str, tuple[float, dict[str, Any]]] = {}
FIRMWARE_CACHE_SECONDS = 60.0


def _firmware(state_dir: Path) -> dict[str, Any]:
    # The slots' boot state comes from RAUC (a D-Bus call and a debugfs read of the other
    # slot): the dashboard refreshes every 30 s and it changes only at an update or a boot,
    # so it is asked at most once a minute; the last update's outcome is read every time.
    from appliance.firmware import records
    from appliance.firmware.status import firmware_status

    now = time.monotonic()
    hit = _FIRMWARE_CACHE.get(str(state_dir))
    if hit is None or now - hit[0] > FIRMWARE_CACHE_SECONDS:
        hit = (now, firmware_status(state_dir).as_dict())
        _FIRMWARE_CACHE[str(state_dir)] = hit
    return {**hit[1], "last": records.read(state_dir, records.LAST),
            "pending": records.read(state_dir, records.PENDING)}


def collect(target: Target) -> dict[str, Any]:
    """Everything the status page shows (``monitor.status.box_status``, with the lab's state
    when a lab runs, and the firmware with its slots)."""
    data = box_status(target, lab_status(target.state_dir))
    data["firmware"] = _firmware(target.state_dir)
    return data


REFRESH_SECONDS = 30


@bp.get("/")
def index() -> str:
    """The status page (static/dashboard.js refreshes it in place every REFRESH_SECONDS)."""
    return render_template("status.html", s=collect(current_target()),
                           now=datetime.now(UTC),
                           refresh_seconds=current_app.config.get("DASHBOARD_REFRESH_SECONDS",
                                                                  REFRESH_SECONDS))


@bp.get("/healthz")
def healthz():  # noqa: ANN201 (Flask response)
    """Liveness for the runner and systemd."""
    return jsonify({"ok": True, "version": __version__})
