"""The resolver's state as plain data for the UI, /metrics, SNMP and ``ixpctl``."""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path

from appliance.resolver import daemon
from appliance.resolver.paths import ROOT_ZONE_FILE, UnboundPaths
from appliance.resolver.rootzone import parse_list_auth_zones, root_zone_status


def resolver_status(state_dir: Path, *, zonefile: str = ROOT_ZONE_FILE,
                    now: float | None = None) -> dict[str, object]:
    """Whether unbound runs, and how good the local root copy is."""
    paths = UnboundPaths(Path(state_dir))
    pid = daemon.running_pid(paths)
    view = None
    if pid is not None:
        try:
            view = parse_list_auth_zones(daemon.control(paths, "list_auth_zones", timeout=5))
        except daemon.UnboundError:
            view = None
    root = root_zone_status(paths.data_dir / zonefile, now=time.time() if now is None else now,
                            unbound_view=view)
    return {"running": pid is not None, "pid": pid, "root_zone": asdict(root)}
