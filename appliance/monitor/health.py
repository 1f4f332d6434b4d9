"""System health for the dashboard and metrics (psutil)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import psutil


def system_health(state_dir: Path) -> dict[str, Any]:
    """CPU, memory, disk of the state dir, temperatures where the hardware reports them."""
    mem = psutil.virtual_memory()
    disk = psutil.disk_usage(str(state_dir if state_dir.exists() else Path("/")))
    temps: dict[str, float] = {}
    read_temps = getattr(psutil, "sensors_temperatures", None)
    if read_temps is not None:
        try:
            for chip, entries in (read_temps() or {}).items():
                for i, entry in enumerate(entries):
                    temps[entry.label or f"{chip}{i}"] = float(entry.current)
        except (OSError, RuntimeError):
            temps = {}
    return {
        "cpu_percent": psutil.cpu_percent(interval=None),
        "load": list(psutil.getloadavg()),
        "cpus": psutil.cpu_count() or 1,
        "memory_percent": mem.percent,
        "memory_total": mem.total,
        "disk_percent": disk.percent,
        "disk_total": disk.total,
        "temperatures": temps,
        "uptime_seconds": int(time.time() - psutil.boot_time()),
    }
