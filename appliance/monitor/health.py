"""System health for the dashboard and metrics (psutil)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import psutil

# systemd puts each unit in its own cgroup (v2); the kernel counts its memory there.
SYSTEM_SLICE = Path("/sys/fs/cgroup/system.slice")


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def service_memory(slice_dir: Path = SYSTEM_SLICE) -> dict[str, Any]:
    """Memory of the appliance's own services now and at their peak, from their cgroups.

    ``total_*`` add up the ``ixp-*`` units (the appliance's processes, BIRD and unbound
    included); ``system_peak`` is the whole system slice's peak since boot (every service
    together, Debian's too): the boot peak. Empty off systemd (a lab or a developer machine).
    """
    units: dict[str, dict[str, int | None]] = {}
    try:
        found = sorted(slice_dir.glob("ixp-*.service"))
    except OSError:
        found = []
    for unit in found:
        current = _read_int(unit / "memory.current")
        if current is None:
            continue
        # memory.peak exists from Linux 5.19; without it the peak is unknown, not zero
        units[unit.name.removesuffix(".service")] = {
            "current": current, "peak": _read_int(unit / "memory.peak")}
    if not units:
        return {}
    return {"units": units,
            "total_current": sum(u["current"] or 0 for u in units.values()),
            "system_current": _read_int(slice_dir / "memory.current"),
            "system_peak": _read_int(slice_dir / "memory.peak")}


def oom_kills(vmstat: Path = Path("/proc/vmstat")) -> int | None:
    """Processes the kernel killed for lack of memory since boot (None if unknown)."""
    try:
        for line in vmstat.read_text().splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
    except (OSError, ValueError):
        return None
    return None


def system_health(state_dir: Path) -> dict[str, Any]:
    """CPU, memory, disk of the state dir, temperatures where the hardware reports them."""
    mem = psutil.virtual_memory()
    disk = psutil.disk_usage(str(state_dir if state_dir.exists() else Path("/")))
    system_disk = psutil.disk_usage("/")
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
        # the system partition, when the data (state dir) lives on a partition of its own
        "system_disk_percent": system_disk.percent,
        "system_disk_total": system_disk.total,
        "separate_system_disk": system_disk.total != disk.total,
        "services_memory": service_memory(),
        "oom_kills": oom_kills(),
        "temperatures": temps,
        "uptime_seconds": int(time.time() - psutil.boot_time()),
    }
