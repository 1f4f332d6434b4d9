"""Traffic and prefix-count graphs as server-rendered SVG: no JavaScript library, nothing
fetched from outside.

Pure: the same rates (or counts) give the same bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from html import escape

from appliance.monitor.store import PrefixPoint, Rate

_PREFIXES = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))

# The words drawn inside the charts; the web passes them in the reader's language
# (appliance.web.graphs.chart_labels), "%(peak)s" filled in here.
LABELS: dict[str, str] = {
    "in": "in", "out_peak": "out (peak %(peak)s)", "collecting": "collecting samples…",
    "received": "received", "accepted": "accepted", "filtered": "filtered",
    "exported": "exported", "no_counts": "no counts in this range",
}


def _labels(given: Mapping[str, str] | None) -> dict[str, str]:
    return {**LABELS, **(given or {})}


def humanize(value: float, unit: str) -> str:
    """12_300_000, 'bit/s' → '12.3 Mbit/s'."""
    for scale, prefix in _PREFIXES:
        if abs(value) >= scale:
            return f"{value / scale:.3g} {prefix}{unit}"
    return f"{value:.3g} {unit}"


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def _frame(title: str, css_class: str, width: int, height: int, left: int, right: int,
           top: int, plot_h: int, grid_labels: list[str]) -> list[str]:
    """The opening of a chart: the svg element, its title, and five grid lines with labels
    (``grid_labels`` from the bottom line up, already escaped)."""
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="{escape(title)}" class="{css_class}">',
        f"<title>{escape(title)}</title>",
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#fff"/>',
        f'<text x="{left}" y="16" font-size="13" font-weight="600" fill="#1c2733">'
        f"{escape(title)}</text>",
    ]
    for i, label in enumerate(grid_labels):
        y = top + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" '
                     'stroke="#dde3ea" stroke-width="1"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" '
                     f'fill="#5b6b7c">{label}</text>')
    return parts


def svg_chart(rates: list[Rate], *, title: str, kind: str = "bits", width: int = 720,
              height: int = 220, labels: Mapping[str, str] | None = None) -> str:
    """In (filled) and out (line) over time; ``kind`` is 'bits' or 'packets'; ``labels`` the
    words drawn (``LABELS``' keys; English by default)."""
    words = _labels(labels)
    unit = "bit/s" if kind == "bits" else "pkt/s"
    if len(rates) == 1:  # one interval: draw it as a flat step over the minute it covers
        r = rates[0]
        rates = [Rate(r.ts - 60, r.rx_bps, r.tx_bps, r.rx_pps, r.tx_pps), r]
    left, right, top, bottom = 78, 12, 26, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    rx = [r.rx_bps if kind == "bits" else r.rx_pps for r in rates]
    tx = [r.tx_bps if kind == "bits" else r.tx_pps for r in rates]
    peak = _nice_max(max(rx + tx, default=0.0))
    parts = _frame(title, "chart", width, height, left, right, top, plot_h,
                   [escape(humanize(peak * i / 4, unit)) for i in range(5)])
    if len(rates) >= 2:
        t0, t1 = rates[0].ts, rates[-1].ts
        span = max(t1 - t0, 1)

        def point(ts: int, v: float) -> str:
            return f"{left + plot_w * (ts - t0) / span:.1f},{top + plot_h - plot_h * v / peak:.1f}"

        area = " ".join(point(r.ts, v) for r, v in zip(rates, rx, strict=True))
        parts.append(f'<polygon points="{left},{top + plot_h} {area} {left + plot_w},'
                     f'{top + plot_h}" fill="#0b6e99" fill-opacity="0.25" stroke="#0b6e99" '
                     'stroke-width="1.5"/>')
        line = " ".join(point(r.ts, v) for r, v in zip(rates, tx, strict=True))
        parts.append(f'<polyline points="{line}" fill="none" stroke="#c2410c" '
                     'stroke-width="1.5"/>')
        for ts, anchor, x in ((t0, "start", left), (t1, "end", width - right)):
            label = datetime.fromtimestamp(ts, UTC).strftime("%d %b %H:%M UTC")
            parts.append(f'<text x="{x}" y="{height - 10}" font-size="11" '
                         f'text-anchor="{anchor}" fill="#5b6b7c">{label}</text>')
    else:
        parts.append(f'<text x="{left + plot_w / 2}" y="{top + plot_h / 2}" font-size="13" '
                     f'text-anchor="middle" fill="#5b6b7c">{escape(words["collecting"])}</text>')
    legend_x = width - right - 170
    parts.append(f'<rect x="{legend_x}" y="6" width="10" height="10" fill="#0b6e99" '
                 'fill-opacity="0.5"/>')
    parts.append(f'<text x="{legend_x + 14}" y="15" font-size="11" fill="#1c2733">'
                 f'{escape(words["in"])}</text>')
    parts.append(f'<line x1="{legend_x + 40}" y1="11" x2="{legend_x + 52}" y2="11" '
                 'stroke="#c2410c" stroke-width="2"/>')
    peak_text = words["out_peak"].replace("%(peak)s", humanize(max(rx + tx, default=0.0), unit))
    parts.append(f'<text x="{legend_x + 56}" y="15" font-size="11" fill="#1c2733">'
                 f"{escape(peak_text)}</text>")
    parts.append("</svg>")
    return "\n".join(parts)


# (field, label, colour, dash): what a member sent, what the route server took and refused,
# and what it gave back
PREFIX_LINES = (
    ("received", "received", "#5b6b7c", "4 3"),
    ("accepted", "accepted", "#0b6e99", ""),
    ("filtered", "filtered", "#b91c1c", ""),
    ("exported", "exported", "#c2410c", ""),
)


def _count_label(value: float) -> str:
    return f"{value / 1000:.3g}k" if value >= 10_000 else f"{value:.4g}"


def svg_prefix_chart(segments: list[list[PrefixPoint]], *, title: str, since: int,
                     until: int, width: int = 720, height: int = 220,
                     labels: Mapping[str, str] | None = None) -> str:
    """A session's prefix counts from ``since`` to ``until`` as step lines (received dashed,
    accepted, filtered, exported); a break between ``segments`` is a time nobody sampled.
    ``labels``: the words drawn, as for ``svg_chart``."""
    words = _labels(labels)
    left, right, top, bottom = 78, 12, 40, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    points = [p for seg in segments for p in seg]
    peak_seen = max((getattr(p, f) for p in points for f, *_ in PREFIX_LINES), default=0)
    peak = max(_nice_max(float(peak_seen)), 4.0)  # whole numbers on the 4 grid lines
    parts = _frame(title, "chart prefixes", width, height, left, right, top, plot_h,
                   [_count_label(peak * i / 4) for i in range(5)])
    span = max(until - since, 1)

    def x(ts: int) -> float:
        return left + plot_w * (min(max(ts, since), until) - since) / span

    def y(v: float) -> float:
        return top + plot_h - plot_h * v / peak

    if points:
        for field, _label, colour, dash in PREFIX_LINES:
            for seg in segments:
                coords: list[str] = []
                for prev, cur in zip([None, *seg[:-1]], seg, strict=True):
                    if prev is not None:  # a step: the old count holds until this point
                        coords.append(f"{x(cur.ts):.1f},{y(getattr(prev, field)):.1f}")
                    coords.append(f"{x(cur.ts):.1f},{y(getattr(cur, field)):.1f}")
                if len(coords) == 1:  # one sample: a short tick, so it is visible
                    cx, cy = coords[0].split(",")
                    coords.append(f"{min(float(cx) + 3, left + plot_w):.1f},{cy}")
                dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
                parts.append(f'<polyline class="{field}" points="{" ".join(coords)}" '
                             f'fill="none" stroke="{colour}" stroke-width="1.5"{dash_attr}/>')
    else:
        parts.append(f'<text x="{left + plot_w / 2}" y="{top + plot_h / 2}" font-size="13" '
                     f'text-anchor="middle" fill="#5b6b7c">{escape(words["no_counts"])}</text>')
    for ts, anchor, xpos in ((since, "start", left), (until, "end", width - right)):
        label = datetime.fromtimestamp(ts, UTC).strftime("%d %b %H:%M UTC")
        parts.append(f'<text x="{xpos}" y="{height - 10}" font-size="11" '
                     f'text-anchor="{anchor}" fill="#5b6b7c">{label}</text>')
    legend_x = left  # a row of its own under the title: long member names fit
    latest = points[-1] if points else None
    for i, (field, _label, colour, dash) in enumerate(PREFIX_LINES):
        lx = legend_x + 110 * i
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(f'<line x1="{lx}" y1="28" x2="{lx + 12}" y2="28" stroke="{colour}" '
                     f'stroke-width="2"{dash_attr}/>')
        now = f" {getattr(latest, field)}" if latest else ""
        parts.append(f'<text x="{lx + 16}" y="32" font-size="11" fill="#1c2733">'
                     f"{escape(words[field])}{now}</text>")
    parts.append("</svg>")
    return "\n".join(parts)
