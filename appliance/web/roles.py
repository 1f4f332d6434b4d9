"""Who may open what: the one access check for every page and API endpoint.

The app's gate (web/__init__.py), the API's (web/api/__init__.py), the birdwatcher API's
(web/birdwatcher.py) and /metrics (web/graphs.py) all ask ``refusal`` once they know the
account; nothing else decides by role.

- ``admin``: everything.
- ``viewer``: every page and read but ``ADMIN_ONLY``'s; no change (only GET, besides logging
  out).
- ``member``: a member's own login (``admin_users[].asn``). Only what is its own: its report
  card, its onboarding checklist, its graphs, its pairs of the traffic matrix (the views cut
  the matrix with ``own_pairs``) and its own looking-glass sessions; the rest of the looking
  glass only when it is public anyway. Every other page and endpoint answers 403, and an
  endpoint nobody listed here is refused to members: a new route cannot forget the check.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from appliance.config.committed import committed_config

ROLES = ("admin", "viewer", "member")
# Changes a reader may still make: its own session and language.
READER_POSTS = frozenset({"auth.logout", "i18n.choose"})
# What a member may open that shows no member's data (or only what is public anyway).
MEMBER_OPEN = frozenset({
    "member.home", "auth.login", "auth.logout", "i18n.choose", "static", "favicon",
    "status.healthz", "docs.index", "docs.page", "api.openapi_document", "api.docs",
    "export.participants", "export.member_export_api",
})
# Pages and endpoints about one member (the view argument ``asn``): a member's own only.
MEMBER_OWN = frozenset({
    "member.report", "member.onboarding", "api.member_report", "api.member_onboarding",
    "graphs.member",
})
# Shown to a member cut to its own pairs (the view calls ``own_pairs``).
MEMBER_CUT = frozenset({"graphs.matrix", "api.matrix"})
# The looking glass: a member's own sessions; the rest only when the glass is public.
MEMBER_GLASS_OWN = frozenset({"lg.session"})
PUBLIC_GLASS = frozenset({"lg.index", "lg.search", "lg.session"})
# Reads for admins only: the services' logs are not masked as the pages are.
ADMIN_ONLY = frozenset({"logs.index", "logs.download"})


def _public_glass(state_dir: Path) -> bool:
    cfg = committed_config(state_dir)
    return bool(cfg is not None and cfg.services.looking_glass.public)


def member_sessions(state_dir: Path, asn: int) -> set[str]:
    """The route-server session names (BIRD protocols) of member ``asn``."""
    from appliance.route_server.render import session_name

    cfg = committed_config(state_dir)
    if cfg is None:
        return set()
    names = set()
    for m in cfg.member_by_asn(asn):
        for addr in (*m.ipv4, *m.ipv6):
            base = session_name(asn, str(addr))
            names |= {base, f"{base}_v4"}  # the IPv4 channel of an IPv6 session
    return names


READ_ONLY, OWN_ASN, NO_ROLE, ADMIN = "read_only", "own_asn", "no_role", "admin_only"


def refusal(role: str | None, asn: int | None, endpoint: str, view_args: Mapping[str, Any],
            method: str, state_dir: Path) -> str | None:
    """Why this account may not make this request (``READ_ONLY``, ``OWN_ASN``, ``NO_ROLE``,
    ``ADMIN``: ``message`` says it in words), or None when it may."""
    if role == "admin":
        return None
    if endpoint in ADMIN_ONLY and role in ROLES:
        return ADMIN
    changes = method not in ("GET", "HEAD", "OPTIONS") and endpoint not in READER_POSTS
    if role == "viewer":
        return READ_ONLY if changes else None
    if role != "member" or asn is None:
        return NO_ROLE
    mine = OWN_ASN
    if changes:
        return mine
    if endpoint in MEMBER_OPEN or endpoint in MEMBER_CUT:
        return None
    if endpoint in MEMBER_OWN:
        return None if view_args.get("asn") == asn else mine
    if endpoint in MEMBER_GLASS_OWN and view_args.get("name") in member_sessions(state_dir, asn):
        return None
    if (endpoint in PUBLIC_GLASS or endpoint.startswith("birdwatcher.")) \
            and _public_glass(state_dir):
        return None
    return mine


def message(code: str, asn: int | None) -> str:
    """A refusal in the reader's language."""
    from appliance.web.i18n import gettext as _

    if code == OWN_ASN:
        return _("Your account sees only the pages of AS%(asn)s, its own network.", asn=asn)
    if code == NO_ROLE:
        return _("Your account has no role this box knows; ask an admin.")
    if code == ADMIN:
        return _("Only an admin account may open this page.")
    return _("Your account may look but not change anything.")


def sees_everything(role: str | None) -> bool:
    """Whether this role reads every member's data (admin and viewer do)."""
    return role in ("admin", "viewer")


def own_pairs(role: str | None, asn: int | None, rows: list[dict[str, Any]]
              ) -> list[dict[str, Any]]:
    """The traffic-matrix rows this reader may see: all, or a member's own pairs only."""
    if sees_everything(role):
        return rows
    return [r for r in rows if asn is not None and asn in (r["from_asn"], r["to_asn"])]
