"""RPKI for the route server: stayrtr serving a VRP file on the box (offline-capable)."""

from __future__ import annotations

from pathlib import Path

from appliance.platform import shipped


def stayrtr_argv(vrp_file: Path, bind: str = "127.0.0.1:3323",
                 metrics: str = "127.0.0.1:9847") -> list[str]:
    """Debian's stayrtr serving ``vrp_file`` (rpki-client/routinator JSON) over RTR.

    ``-checktime=false`` keeps serving a file whose validity window passed: an island IXP may
    be offline for days, and stale ROAs are better than none (their age is shown in the UI).
    """
    # the image's stayrtr where the lab runs the shipped daemons (appliance/platform/shipped)
    return shipped.wrap([shipped.program("stayrtr") or "stayrtr", "-cache", str(vrp_file),
                         "-checktime=false", "-bind", bind, "-metrics.addr", metrics])
