"""HOST-RESOURCES-MIB: uptime, memory and disk storage, processor load (via psutil).

Storage indexes and descriptions follow net-snmp's (1 physical memory, 3 virtual memory,
6 buffers, 7 cached, 10 swap, 31+ disks), which LibreNMS, Observium and Cacti already map to
their memory and disk graphs. Processors are hrDeviceIndex 196608+n, as in net-snmp.
"""

from __future__ import annotations

import os
import time

import psutil
from pysnmp.proto import rfc1902

from appliance.snmp.oidstore import Row, Section, each_item, table_cells
from appliance.snmp.text import HR_DEVICE_DESCR, display_string

HOST = (1, 3, 6, 1, 2, 1, 25)
NAME = "HOST-RESOURCES-MIB"
HR_SYSTEM = (*HOST, 1)
HR_STORAGE = (*HOST, 2)
HR_STORAGE_ENTRY = (*HR_STORAGE, 3, 1)
HR_DEVICE_ENTRY = (*HOST, 3, 2, 1)
HR_PROCESSOR_ENTRY = (*HOST, 3, 3, 1)
HR_STORAGE_TYPES = (*HR_STORAGE, 1)
ST_OTHER, ST_RAM, ST_VIRTUAL, ST_DISK = (*HR_STORAGE_TYPES, 1), (*HR_STORAGE_TYPES, 2), \
    (*HR_STORAGE_TYPES, 3), (*HR_STORAGE_TYPES, 4)
DEVICE_PROCESSOR = (*HOST, 3, 1, 3)
CPU_BASE = 196608
I32_MAX = 2**31 - 1
DISK_INDEX_BASE = 31
# Bind mounts of a disk that are not file systems of their own (namespace handles, runtime).
_NOT_DISKS = ("/run/", "/proc/", "/sys/", "/dev/")


def _units(total_bytes: int, unit: int) -> tuple[int, int]:
    """(allocation unit, unit divisor) so that the size fits an Integer32, as RFC 2790 needs."""
    while total_bytes // unit > I32_MAX:
        unit *= 2
    return unit, unit


def storage_rows() -> list[tuple[int, tuple[int, ...], str, int, int, int]]:
    """(index, type, descr, unit, size, used) for memory, swap and mounted disks."""
    vm = psutil.virtual_memory()
    sw = psutil.swap_memory()
    out = []

    def add(index: int, kind: tuple[int, ...], descr: str, total: int, used: int,
            unit: int = 1024) -> None:
        unit, _ = _units(total, unit)
        out.append((index, kind, descr, unit, total // unit, used // unit))

    add(1, ST_RAM, "Physical memory", vm.total, vm.total - vm.available)
    add(3, ST_VIRTUAL, "Virtual memory", vm.total + sw.total,
        vm.total - vm.available + sw.used)
    add(6, ST_OTHER, "Memory buffers", vm.total, getattr(vm, "buffers", 0))
    add(7, ST_OTHER, "Cached memory", getattr(vm, "cached", 0), getattr(vm, "cached", 0))
    add(10, ST_VIRTUAL, "Swap space", sw.total, sw.used)
    mounts = sorted({p.mountpoint for p in psutil.disk_partitions(all=False)
                     if not p.mountpoint.startswith(_NOT_DISKS)})
    for i, mount in enumerate(mounts):
        try:
            st = os.statvfs(mount)
        except OSError:
            continue
        block = st.f_frsize or 4096
        total = st.f_blocks * block
        used = (st.f_blocks - st.f_bfree) * block
        add(DISK_INDEX_BASE + i, ST_DISK, mount, total, used, block)
    return out


class HostSource:
    """Collects the HOST-RESOURCES values; processor load is the average since the last read."""

    def __init__(self) -> None:
        psutil.cpu_percent(percpu=True)  # start the measuring interval now

    def rows(self) -> list[Row]:
        """Every HOST-RESOURCES object we serve."""
        uptime = int((time.time() - psutil.boot_time()) * 100) % (1 << 32)
        kb = psutil.virtual_memory().total // 1024
        out = [
            *table_cells(NAME, HR_SYSTEM, (0,), {
                1: (rfc1902.TimeTicks, uptime),
                5: (rfc1902.Gauge32, len(psutil.users())),
                6: (rfc1902.Gauge32, len(psutil.pids())),
                7: (rfc1902.Integer32, 0),  # no fixed limit
            }),
            *table_cells(NAME, HR_STORAGE, (0,), {2: (rfc1902.Integer32, min(kb, I32_MAX))}),
        ]

        def storage(s: tuple[int, tuple[int, ...], str, int, int, int]) -> list[Row]:
            index, kind, descr, unit, size, used = s
            return table_cells(NAME, HR_STORAGE_ENTRY, (index,), {
                1: (rfc1902.Integer32, index),
                2: (rfc1902.ObjectIdentifier, kind),
                3: (display_string, descr),  # a mount point: any bytes the kernel allows
                4: (rfc1902.Integer32, unit),
                5: (rfc1902.Integer32, min(size, I32_MAX)),
                6: (rfc1902.Integer32, min(used, I32_MAX)),
                7: (rfc1902.Counter32, 0),
            })

        out += each_item(NAME, storage_rows(), storage, lambda s: s[2])
        loads = psutil.cpu_percent(percpu=True)
        model = _cpu_model()

        def processor(n: int) -> list[Row]:
            i = (CPU_BASE + n,)
            return [*table_cells(NAME, HR_DEVICE_ENTRY, i, {
                1: (rfc1902.Integer32, i[0]),
                2: (rfc1902.ObjectIdentifier, DEVICE_PROCESSOR),
                3: (display_string, model, HR_DEVICE_DESCR),
                4: (rfc1902.ObjectIdentifier, (0, 0)),
                5: (rfc1902.Integer32, 2),  # running
                6: (rfc1902.Counter32, 0),
            }), *table_cells(NAME, HR_PROCESSOR_ENTRY, i, {
                1: (rfc1902.ObjectIdentifier, (0, 0)),
                2: (rfc1902.Integer32, round(loads[n])),
            })]

        return out + each_item(NAME, range(len(loads)), processor, lambda n: f"cpu{n}")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "processor"


def host_section(ttl: float = 5.0) -> Section:
    """The HOST-RESOURCES-MIB subtree."""
    source = HostSource()
    return Section(HOST, source.rows, ttl=ttl, name=NAME)
