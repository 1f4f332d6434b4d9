"""What the Firmware page, the dashboard and the API show about the firmware and its slots."""

from __future__ import annotations

import os
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from appliance import __version__
from appliance.firmware import rauc, records

VERSION_FILE = Path("/etc/ixp-appliance/firmware-version")
SLOT_VERSION_PATH = "/etc/ixp-appliance/firmware-version"
SLOT_DEVICES = {"A": Path("/dev/disk/by-partlabel/ixp-root-a"),
                "B": Path("/dev/disk/by-partlabel/ixp-root-b")}


def running_version(path: Path = VERSION_FILE) -> str:
    """The firmware version of the running system (the package's outside the image)."""
    try:
        return path.read_text().strip() or __version__
    except OSError:
        return __version__


def slot_version(device: Path) -> str | None:
    """The firmware version written in a slot that is not mounted (debugfs reads it)."""
    try:
        res = subprocess.run(["debugfs", "-R", f"cat {SLOT_VERSION_PATH}", str(device)],
                             capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = res.stdout.strip()
    return text.splitlines()[0] if res.returncode == 0 and text else None


def record_slot_versions(state_dir: Path, installed: dict[str, str] | None = None) -> None:
    """Write down each slot's version for readers that cannot open the block devices (as
    root: the gate at every boot, an install with ``installed`` = {slot: new version})."""
    booted = rauc.booted_slot()
    known = dict(records.read(state_dir, records.SLOTS) or {})
    for bootname, device in SLOT_DEVICES.items():
        if bootname == booted:
            known[bootname] = running_version()
        elif device.exists():
            known[bootname] = slot_version(device)
    known.update(installed or {})
    records.write(state_dir, records.SLOTS, known)


def _other_version(state_dir: Path, bootname: str, device: Path) -> str | None:
    if os.access(device, os.R_OK):
        return slot_version(device)
    # not root: what root last read (None when the slot was empty then)
    return (records.read(state_dir, records.SLOTS) or {}).get(bootname)


def slot_bytes(bootname: str) -> int | None:
    """The size of a slot's partition, from the kernel."""
    device = SLOT_DEVICES.get(bootname)
    if device is None or not device.exists():
        return None
    name = device.resolve().name
    try:
        return int(Path(f"/sys/class/block/{name}/size").read_text()) * 512
    except (OSError, ValueError):
        return None


@dataclass
class SlotView:
    """One slot as the Firmware page shows it."""

    bootname: str
    version: str | None
    booted: bool
    next_boot: bool
    boot_status: str  # "good", "bad", or "" when RAUC did not say


@dataclass
class FirmwareStatus:
    """The firmware and its slots; ``available`` is False off the image."""

    version: str
    available: bool
    booted: str | None = None
    slots: list[SlotView] = field(default_factory=list)
    last: dict[str, Any] | None = None  # the last update's outcome (records.LAST)
    pending: dict[str, Any] | None = None  # an update installed and not judged yet
    problem: str | None = None

    @property
    def other(self) -> SlotView | None:
        """The slot that is not running."""
        return next((s for s in self.slots if not s.booted), None)

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return asdict(self)


def firmware_status(state_dir: Path, *, with_rauc: bool = True) -> FirmwareStatus:
    """The firmware's state now (``with_rauc=False``: only what the files say, fast)."""
    st = FirmwareStatus(version=running_version(), available=rauc.available(),
                        booted=rauc.booted_slot(),
                        last=records.read(state_dir, records.LAST),
                        pending=records.read(state_dir, records.PENDING))
    if not st.available or not with_rauc:
        return st
    try:
        rs = rauc.status()
    except rauc.RaucError as exc:
        st.problem = str(exc)
        rs = None
    primary = None
    if rs is not None:
        primary = next((s.bootname for s in rs.slots if s.name == rs.primary), None)
    for bootname, device in SLOT_DEVICES.items():
        slot = next((s for s in rs.slots if s.bootname == bootname), None) if rs else None
        booted = bootname == st.booted
        version = st.version if booted else (
            _other_version(state_dir, bootname, device) if device.exists() else None)
        st.slots.append(SlotView(bootname=bootname, version=version, booted=booted,
                                 next_boot=primary == bootname,
                                 boot_status=slot.boot_status if slot else ""))
    return st
