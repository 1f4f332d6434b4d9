"""Traffic graphs per port and in total, and the Prometheus metrics endpoint."""

from __future__ import annotations

import time

from flask import Blueprint, Response, abort, current_app, render_template, request
from markupsafe import Markup

from appliance.monitor.graphs import svg_chart
from appliance.monitor.metrics import render_metrics
from appliance.monitor.store import TOTAL, SampleStore
from appliance.web.status import samples_path

bp = Blueprint("graphs", __name__)
RANGES = {"2h": 2 * 3600, "2d": 2 * 86400, "60d": 60 * 86400}


def _store() -> SampleStore | None:
    path = samples_path(current_app.config["STATE_DIR"])
    return SampleStore(path) if path.exists() else None


@bp.get("/graphs")
def index() -> str:
    """Total and per-port traffic over the chosen range (bits and packets)."""
    span = request.args.get("range", "2h")
    if span not in RANGES:
        abort(404)
    kind = request.args.get("kind", "bits")
    if kind not in ("bits", "packets"):
        abort(404)
    store = _store()
    since = int(time.time()) - RANGES[span]
    charts = []
    for port in ([TOTAL] + [p for p in store.ports() if p != TOTAL]) if store else []:
        title = "All member ports" if port == TOTAL else f"Port {port}"
        charts.append(Markup(svg_chart(store.rates(port, since), title=title, kind=kind)))
    return render_template("graphs.html", charts=charts, span=span, kind=kind, ranges=RANGES)


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus exposition (read-only; on the image only the management network reaches it)."""
    body = render_metrics(current_app.config["STATE_DIR"], current_app.config.get("NETNS"))
    return Response(body, mimetype="text/plain; version=0.0.4")
