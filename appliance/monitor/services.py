"""Service health for the dashboard, metrics and the collector: the route server's sessions (read
by ``route_server/status.py``) as prefix counts, and the resolver."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appliance.monitor.store import SessionCounts
from appliance.route_server.status import Member, route_server_sessions

# The model only for the web UI's callers: the collector passes the members from its own
# rendered file (issue 14: the model's modules are some 22 MiB of a resident process).
if TYPE_CHECKING:
    from appliance.config.model import IXPConfig


def session_counts(state_dir: Path, cfg: IXPConfig | Mapping[str, Member]
                   ) -> list[SessionCounts]:
    """Each route-server session's prefix counts now (empty when BIRD does not answer).

    "received" is accepted plus filtered: BIRD counts a route it keeps but filtered only
    under "filtered", not under "imported".
    """
    return [SessionCounts(s["protocol"], s["asn"], s["family"], s["neighbor"], s["member"],
                          s["accepted"] + s["filtered"], s["accepted"], s["filtered"],
                          s["exported"])
            for s in route_server_sessions(state_dir, cfg)["sessions"]]


def resolver_health(state_dir: Path, cfg: IXPConfig) -> dict[str, Any] | None:
    """Whether the resolver runs and how good its root copy is; None when it is not enabled."""
    if not cfg.services.resolver.enabled:
        return None
    from appliance.resolver.status import resolver_status

    try:
        return resolver_status(state_dir)
    except (OSError, ValueError, RuntimeError) as exc:
        return {"running": False, "root_zone": {"state": "unknown", "message": str(exc)}}
