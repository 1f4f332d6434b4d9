"""Traffic graphs per port and in total, prefix counts per route-server session, a page per
member with both, and the Prometheus metrics endpoint."""

from __future__ import annotations

import time
from datetime import UTC, datetime, tzinfo
from html import escape
from pathlib import Path

from babel.dates import format_datetime
from flask import Blueprint, Response, abort, current_app, g, render_template, request
from flask_babel import gettext as _
from markupsafe import Markup

from appliance.config.committed import committed_config
from appliance.monitor.graphs import svg_chart, svg_prefix_chart
from appliance.monitor.metrics import render_metrics
from appliance.monitor.store import (
    MATRIX_PERIODS,
    TOTAL,
    Rate,
    SampleStore,
    SessionInfo,
    samples_path,
)
from appliance.web import accounts, auth, roles
from appliance.web.api import tokens
from appliance.web.filters import box_timezone, localtime
from appliance.web.i18n import current_locale
from appliance.web.lg_access import client_in
from appliance.web.where import current_target

bp = Blueprint("graphs", __name__)
RANGES = {"2h": 2 * 3600, "2d": 2 * 86400, "60d": 60 * 86400}
KINDS = ("bits", "packets", "prefixes")
TOP_PEERS = 8  # per-peer charts on a member's page: its busiest peers


def _store() -> SampleStore | None:
    path = samples_path(current_app.config["STATE_DIR"])
    return SampleStore(path) if path.exists() else None


def _range() -> tuple[str, int, int]:
    span = request.args.get("range", "2h")
    if span not in RANGES:
        abort(404)
    now = int(time.time())
    return span, now - RANGES[span], now


def family_label(family: str) -> str:
    """'ipv4' → 'IPv4'."""
    return {"ipv4": "IPv4", "ipv6": "IPv6"}.get(family, family)


CHART_TIME = "%d %b %H:%M"


def box_zone() -> tzinfo:
    """The box's time zone (``management.timezone``), UTC outside a request."""
    try:
        return box_timezone(current_app.config["STATE_DIR"])
    except RuntimeError:  # no app context
        return UTC


def chart_labels() -> dict[str, str]:
    """The words drawn inside the charts, in the reader's language."""
    return {"in": _("in"), "out_peak": _("out (peak %(peak)s)", peak="%(peak)s"),
            "collecting": _("collecting samples…"), "received": _("received"),
            "accepted": _("accepted"), "filtered": _("filtered"), "exported": _("exported"),
            "no_counts": _("no counts in this range")}


def port_title(port: str) -> str:
    """A port's chart title ("Port ixp1"), the total's ("All member ports")."""
    return _("All member ports") if port == TOTAL else _("Port %(port)s", port=port)


def in_box_zone(svg: str, *stamps: int) -> str:
    """The chart ``svg`` with its time labels (UTC, as appliance.monitor.graphs draws them)
    for the Unix times ``stamps`` shown in the box's time zone instead."""
    locale = current_locale()
    zone = box_zone() if locale.language != "en" else UTC
    for ts in stamps:
        utc = datetime.fromtimestamp(ts, UTC).strftime(f"{CHART_TIME} UTC")
        shown = localtime(ts, f"{CHART_TIME} %Z")
        if locale.language != "en":  # the month in the reader's language ("24 nov.")
            local = datetime.fromtimestamp(ts, UTC).astimezone(zone)
            shown = f"{format_datetime(local, 'd MMM HH:mm', locale=locale)} " \
                f"{local.strftime('%Z')}"
        svg = svg.replace(f">{utc}<", f">{escape(shown)}<")
    return svg


def traffic_chart(rates: list[Rate], *, title: str, kind: str = "bits") -> Markup:
    """The SVG of one port's traffic, times in the box's zone."""
    stamps = [rates[0].ts, rates[-1].ts] if rates else []
    if len(rates) == 1:  # svg_chart draws one interval over the minute before it
        stamps = [rates[0].ts - 60, rates[0].ts]
    return Markup(in_box_zone(svg_chart(rates, title=title, kind=kind, labels=chart_labels()),
                              *stamps))


def prefix_chart(store: SampleStore, info: SessionInfo, since: int, until: int, *,
                 with_member: bool) -> Markup:
    """The SVG of one session's prefix counts (titled with the member when ``with_member``)."""
    title = _("%(family)s session %(neighbor)s", family=family_label(info.family),
              neighbor=info.neighbor)
    if with_member:  # short enough that a long member name still fits the chart's width
        who = f"AS{info.asn} {info.member}".strip() if info.asn else info.session
        title = f"{who} · {title}"
    return Markup(in_box_zone(svg_prefix_chart(store.prefix_series(info.session, since, until),
                                               title=title, since=since, until=until,
                                               labels=chart_labels()),
                              since, until))


@bp.get("/graphs")
def index() -> str:
    """Total and per-port traffic (bits or packets), or every session's prefix counts, over
    the chosen range."""
    span, since, now = _range()
    kind = request.args.get("kind", "bits")
    if kind not in KINDS:
        abort(404)
    store = _store()
    charts = []
    if store is not None and kind == "prefixes":
        for info in store.sessions():
            charts.append((info.asn, prefix_chart(store, info, since, now, with_member=True)))
    elif store is not None:
        for port in [TOTAL] + [p for p in store.ports() if p != TOTAL]:
            charts.append((None, traffic_chart(store.rates(port, since), title=port_title(port),
                                               kind=kind)))
    return render_template("graphs.html", charts=charts, span=span, kind=kind, ranges=RANGES,
                           kinds=KINDS)


@bp.get("/graphs/matrix")
def matrix() -> str:
    """The traffic matrix as a table: who sent how much to whom (rows send, columns receive),
    since the kernel's counters started, each cell shaded by its share of the busiest pair."""
    from appliance.bridge.status import box_matrix

    state, target = current_app.config["STATE_DIR"], current_target()
    cfg = committed_config(state)
    if cfg is None:
        abort(404)
    family = request.args.get("family", "all")
    if family not in ("all", "ipv4", "ipv6"):
        abort(404)
    period = request.args.get("period", "all")
    if period not in ("all", *MATRIX_PERIODS):
        abort(404)
    on = cfg.peering_lan.traffic_matrix
    if period == "all":  # the kernel's counters as they are now
        rows = box_matrix(cfg, target)
        value = "bytes"
    else:  # average rates over the period, from the collector's samples
        store = _store()
        rates = store.matrix_rates(MATRIX_PERIODS[period]) if store and on else []
        rows = [{"from_asn": r.src, "to_asn": r.dst, "family": r.family, "bps": r.bps}
                for r in rates]
        value = "bps"
    rows = roles.own_pairs(g.role, g.asn, rows)
    cells: dict[tuple[int, int], float] = {}
    for r in rows:
        if family in ("all", r["family"]):
            key = (int(r["from_asn"]), int(r["to_asn"]))
            cells[key] = cells.get(key, 0) + r[value]
    members: dict[int, str] = {}
    for m in cfg.members:
        members.setdefault(m.asn, m.name)
    top = max(cells.values(), default=0)
    # five shades, by share of the busiest pair: the page stays readable without a legend
    shade = {k: (1 + min(4, int(v * 5 // top))) if top and v else 0 for k, v in cells.items()}
    own = None if roles.sees_everything(g.role) else {g.asn}  # a member: its own row only
    return render_template("matrix.html", on=on, members=members, cells=cells, shade=shade,
                           family=family, rows=own, period=period,
                           periods=matrix_periods(), unit="B" if period == "all" else "bit/s")


def matrix_periods() -> dict[str, str]:
    """The matrix page's periods, in the reader's language."""
    return {"hour": _("Last hour"), "day": _("Last day"), "month": _("Last month"),
            "all": _("Since the counters started")}


@bp.get("/graphs/member/<int:asn>")
def member(asn: int) -> str:
    """One member: traffic of each of its ports and the prefix counts of its sessions."""
    span, since, now = _range()
    cfg = committed_config(current_app.config["STATE_DIR"])
    entry = next((m for m in cfg.members if m.asn == asn), None) if cfg else None
    store = _store()
    sessions = store.sessions(asn) if store else []
    if entry is None and not sessions:
        abort(404)
    name = entry.name if entry else sessions[0].member
    traffic, prefixes, peers = [], [], []
    if store is not None:
        for port in [p.ifname for p in entry.ports] if entry else []:
            traffic.append(traffic_chart(store.rates(port, since), title=port_title(port)))
        prefixes = [prefix_chart(store, s, since, now, with_member=False) for s in sessions]
        names = {m.asn: m.name for m in cfg.members} if cfg else {}
        for peer in store.matrix_peers(asn, since, now)[:TOP_PEERS]:
            title = _("To and from AS%(asn)s %(name)s", asn=peer, name=names.get(peer, ""))
            peers.append(traffic_chart(store.pair_rates(asn, peer, since, now),
                                       title=title.strip()))
    return render_template("graphs_member.html", asn=asn, name=name, traffic=traffic,
                           prefixes=prefixes, peers=peers, span=span, ranges=RANGES)


def _may_scrape(state: Path) -> bool:
    """Whether this request may read /metrics: with a public looking glass anyone may (the
    figures are the glass's and the ports'); otherwise a logged-in user, an API token, or a
    client in services.metrics.allowed_networks. Before setup nobody may."""
    cfg = committed_config(state)
    if cfg is not None and cfg.services.looking_glass.public:
        return True
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        try:
            token = tokens.authenticate(state, header[7:].strip())
        except tokens.TokenRefused:
            return False
        account = next((a for a in accounts.committed_accounts(state) if a.name == token.user),
                       None)
        return account is not None and _reads_all(account, state)
    account = auth.current_user() if accounts.accounts(state) else None
    if account is not None:
        return _reads_all(account, state)
    return cfg is not None and client_in(cfg.services.metrics.allowed_networks)


def _reads_all(account: accounts.Account, state: Path) -> bool:
    # /metrics has every member's figures: not for a member's own account
    if roles.refusal(account.role, account.asn, "graphs.metrics", {}, "GET", state):
        abort(403, roles.message(roles.OWN_ASN, account.asn))
    return True


@bp.get("/metrics")
def metrics() -> Response | tuple[Response, int]:
    """Prometheus exposition (read-only): see ``_may_scrape`` for who may read it."""
    state = current_app.config["STATE_DIR"]
    if not _may_scrape(state):
        resp = Response("log in, send 'Authorization: Bearer <token>' (a token from the Users "
                        "page), or list the scraper's network in "
                        "services.metrics.allowed_networks\n", 401, mimetype="text/plain")
        resp.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return resp
    body = render_metrics(current_target())
    return Response(body, mimetype="text/plain; version=0.0.4")
