"""IRR data for the web: who is filtered "reject" but has no data, and loading data from a page.

With no IRR data for a member the route server cannot check its routes and only tags them
(``(RS,1000,6)``): IRR filtering then fails open. The operator must see that where they look
(the dashboard, the members page, the wizard's review), and be able to fix it right there:
upload a file in the ``ixpctl irr import`` format, or fetch with bgpq4 when the box is online.
Loading reuses the CLI's code (``appliance.route_server.irr`` / ``irr_fetch``); nothing is
parsed twice.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from flask_babel import gettext as _
from flask_babel import ngettext

from appliance.apply_service.client import HelperError, HelperUnavailable
from appliance.config.model import IXPConfig
from appliance.route_server.concern import IRR_CACHE
from appliance.route_server.irr import IrrData, irr_object, parse_irr_cache
from appliance.route_server.irr_fetch import age_seconds, load_cache, save_cache

MAX_AGE_DAYS = 30  # older data still filters, but the operator is told to refresh it
MAX_UPLOAD_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class IrrGap:
    """A member whose IRR filter is "reject" but who has no (or old) IRR data."""

    asn: int
    name: str
    object: str
    problem: str  # "no IRR data" or "IRR data 45 days old", in the reader's language
    days: int | None = None  # the data's age when it is old; None when there is none


class IrrLoadError(ValueError):
    """Uploaded or fetched IRR data could not be used; nothing was changed."""


def cache_path(state_dir: Path) -> Path:
    """Where the route server reads its IRR data."""
    return state_dir / IRR_CACHE


def _cache(state_dir: Path) -> IrrData:
    try:
        return load_cache(cache_path(state_dir))
    except (OSError, ValueError):
        return IrrData()  # an unreadable cache is reported as "no data"


def gaps(state_dir: Path, cfg: IXPConfig | None, *, now: datetime | None = None,
         max_age_days: int = MAX_AGE_DAYS) -> list[IrrGap]:
    """Members with IRR filtering set to reject but no IRR data loaded, or data too old."""
    if cfg is None:
        return []
    data = _cache(state_dir)
    now = now or datetime.now(UTC)
    out: list[IrrGap] = []
    for m in cfg.members:
        if not m.route_server or cfg.effective_policy(m).irr != "reject":
            continue
        entry = data.for_member(m)
        if entry is None:
            out.append(IrrGap(m.asn, m.name, irr_object(m), _("no IRR data")))
            continue
        try:
            age = age_seconds(entry, now)
        except ValueError:
            age = None
        if age is not None and age > max_age_days * 86400:
            out.append(IrrGap(m.asn, m.name, irr_object(m),
                              ngettext("IRR data %(num)d day old", "IRR data %(num)d days old",
                                       int(age // 86400)), int(age // 86400)))
    return out


def new_member_gaps(state_dir: Path, running: IXPConfig | None,
                    candidate: IXPConfig) -> list[str]:
    """For a review: one sentence per member the change adds who has no (or old) IRR data."""
    before = {m.asn for m in running.members} if running else set()
    out: list[str] = []
    for x in gaps(state_dir, candidate):
        if x.asn in before:
            continue
        if x.days is None:
            out.append(_("AS%(asn)s %(name)s has no IRR data (%(object)s) yet: until it is "
                         "loaded (Members → IRR data), its routes are accepted without an IRR "
                         "check.", asn=x.asn, name=x.name, object=x.object))
        else:
            out.append(ngettext("AS%(asn)s %(name)s has IRR data %(num)d day old (%(object)s): "
                                "its routes are checked against it until it is refreshed "
                                "(Members → IRR data).",
                                "AS%(asn)s %(name)s has IRR data %(num)d days old "
                                "(%(object)s): its routes are checked against it until it is "
                                "refreshed (Members → IRR data).",
                                x.days, asn=x.asn, name=x.name, object=x.object))
    return out


def wizard_notice(state_dir: Path, cfg: IXPConfig | None) -> dict[str, object] | None:
    """For the wizard's review: when IRR is set to reject and data is missing, what to say."""
    if cfg is None or cfg.route_server.policy.irr != "reject":
        return None
    missing = gaps(state_dir, cfg)
    if cfg.members and not missing:
        return None
    if not cfg.members and cache_path(state_dir).is_file():
        return None
    return {"gaps": missing, "bgpq4": shutil.which("bgpq4") is not None}


def import_bytes(state_dir: Path, raw: bytes, filename: str) -> int:
    """Merge an uploaded IRR file (the ``ixpctl irr import`` format) into the cache.

    Its entries win over cached ones, as with the CLI. Returns how many objects it held;
    raises ``IrrLoadError`` (nothing changed) when it is not an IRR data file.
    """
    if not raw:
        raise IrrLoadError(_("Choose a file first (a JSON file as ixpctl irr import takes)."))
    if len(raw) > MAX_UPLOAD_BYTES:
        raise IrrLoadError(_("%(file)s: the file is larger than %(mb)s MB.", file=filename,
                             mb=MAX_UPLOAD_BYTES // (1024 * 1024)))
    try:
        imported = parse_irr_cache(json.loads(raw.decode("utf-8")))
    except (UnicodeDecodeError, ValueError, TypeError, KeyError) as exc:
        raise IrrLoadError(_("%(file)s: not an IRR data file (%(why)s); nothing was changed. "
                             "It must be JSON as written by ixpctl irr refresh or bgpq4 -j.",
                             file=filename, why=exc)) from None
    if not imported.entries:
        raise IrrLoadError(_("%(file)s: the file holds no IRR objects; nothing was changed.",
                             file=filename))
    from appliance.web.applying import privileged, socket

    if socket() is not None:  # the route server's cache is root's: the helper writes it
        try:
            privileged().install_data("irr", raw)
        except (HelperError, HelperUnavailable) as exc:
            raise IrrLoadError(_("%(file)s: %(why)s; nothing was changed.", file=filename,
                                 why=str(exc))) from None
        return len(imported.entries)
    merged = IrrData({**_cache(state_dir).entries, **imported.entries})
    save_cache(cache_path(state_dir), merged)
    return len(imported.entries)


def fetch(state_dir: Path, cfg: IXPConfig) -> tuple[int, dict[str, str]]:
    """Fetch every member's IRR object with bgpq4 (online only); (fetched, failed by object).

    Raises ``IrrLoadError`` with a sentence a beginner understands when bgpq4 is missing or
    nothing could be fetched (typically: the box is offline). Cached data is kept on failure.
    """
    objects = sorted({irr_object(m) for m in cfg.members})
    if not objects:
        raise IrrLoadError(_("There are no members yet, so there is nothing to fetch."))
    if shutil.which("bgpq4") is None:
        raise IrrLoadError(_("bgpq4 is not installed on this box, so IRR data cannot be "
                             "fetched; upload a file instead."))
    from appliance.web.applying import privileged

    try:
        # bgpq4 writes the route server's cache: maybe the helper's to write
        failed = privileged().irr_fetch(cfg)
    except (HelperError, HelperUnavailable) as exc:
        failed = {obj: str(exc) for obj in objects}
    fetched = len(objects) - len(failed)
    if fetched == 0:
        first = next(iter(failed.values()), "")
        raise IrrLoadError(_("Could not fetch IRR data: is the box online? The IRR servers "
                             "did not answer (%(why)s). Upload a file instead; the data "
                             "already loaded is kept.", why=first))
    return fetched, failed


def fetched_sentence(n: int, failed: dict[str, str]) -> str:
    """What a bgpq4 fetch got, and which objects it could not get."""
    text = ngettext("Fetched IRR data for %(num)d object.",
                    "Fetched IRR data for %(num)d objects.", n)
    if failed:
        text += " " + _("Not fetched: %(objects)s.", objects=", ".join(sorted(failed)))
    return text
