"""The management plane's state, as the UI, the CLI and the banner show it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psutil

from appliance.config.model import IXPConfig
from appliance.management import trial
from appliance.management.host import Host
from appliance.management.render import address_plan


def management_status(state_dir: Path, cfg: IXPConfig | None, *, on_image: bool,
                      host: Host | None = None) -> dict[str, Any]:
    """Configured versus running: host name, addresses, NTP, time zone and any trial."""
    host = host or Host()
    out: dict[str, Any] = {"applied_here": on_image}
    pending = trial.pending(state_dir)
    out["trial"] = pending.as_dict() if pending else None
    known = trial.confirmed(state_dir)
    out["confirmed"] = known.describe() if known else None
    if cfg is not None:
        mgmt = cfg.management
        out["configured"] = {"hostname": mgmt.hostname, "network": address_plan(mgmt).describe(),
                             "dns": [str(d) for d in mgmt.dns], "ntp": list(mgmt.ntp),
                             "timezone": mgmt.timezone, "trial_seconds": mgmt.trial_seconds}
    if not on_image:
        return out
    out["hostname"] = host.hostname()
    out["timezone"] = host.timezone()
    nic = cfg.management.interface if cfg is not None else None
    addrs = psutil.net_if_addrs().get(nic or "", [])
    out["addresses"] = [a.address.split("%", 1)[0] for a in addrs
                        if a.family.name in ("AF_INET", "AF_INET6")]
    ntp = host.ntp_state()
    out["ntp"] = {"synchronised": ntp.get("NTPSynchronized") == "yes",
                  "enabled": ntp.get("NTP") == "yes",
                  "server": ntp.get("ServerName", ""), "address": ntp.get("ServerAddress", "")}
    out["dns_in_use"] = _resolv_servers(Path("/etc/resolv.conf"))
    return out


def _resolv_servers(path: Path) -> list[str]:
    try:
        text = path.read_text("utf-8")
    except OSError:
        return []
    return [line.split()[1] for line in text.splitlines()
            if line.startswith("nameserver ") and len(line.split()) > 1]
