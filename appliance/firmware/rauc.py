"""The RAUC command line, the one way this package touches the slots and their boot state.

Debian's RAUC is built with its D-Bus service: ``rauc install`` and ``rauc status`` talk to
``ixp-rauc.service``. Every call here has a time bound and turns RAUC's failures into
``RaucError`` with RAUC's own words.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SYSTEM_CONF = Path("/etc/rauc/system.conf")
KEYRING = Path("/etc/rauc/keyring.pem")
_PERCENT = re.compile(r"^\s*(\d{1,3})%\s+(.*)$")
# RAUC's log prefixes ("rauc-Message: 12:00:00.000: ", "(rauc:1014): rauc-WARNING **:
# 05:25:47.558: ") are noise in a message to a person.
_NOISE = re.compile(r"^(\(rauc:\d+\): )?(rauc-[A-Za-z]+( \*\*)?: )?[0-9:.]+: ")


class RaucError(RuntimeError):
    """RAUC refused or failed; the message is RAUC's, cleaned up."""


def available() -> bool:
    """Whether this system can install updates (the image; not a developer machine)."""
    return shutil.which("rauc") is not None and SYSTEM_CONF.exists()


def _clean(text: str) -> str:
    lines = [_NOISE.sub("", line).strip() for line in text.splitlines()]
    return "; ".join(line for line in lines if line)


def _run(argv: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                              check=False)
    except FileNotFoundError:
        raise RaucError("RAUC is not installed on this system") from None
    except subprocess.TimeoutExpired:
        raise RaucError(f"{' '.join(argv[:3])} did not answer within {timeout:g} s") from None


def info(bundle: Path, keyring: Path = KEYRING, timeout: float = 300) -> dict[str, Any]:
    """``rauc info`` of a bundle: its manifest, after RAUC checked its signature against
    ``keyring`` (a tampered or foreign bundle raises ``RaucError``)."""
    res = _run(["rauc", "info", f"--keyring={keyring}", "--output-format=json", str(bundle)],
               timeout)
    if res.returncode != 0:
        raise RaucError(_clean(res.stderr or res.stdout) or "rauc info failed")
    # the JSON is the last line of stdout; RAUC's messages go to stderr
    for line in reversed(res.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise RaucError("rauc info printed no manifest")


def install(bundle: Path, progress: Callable[[int, str], None] | None = None,
            timeout: float = 3600) -> None:
    """Install ``bundle`` into the other slot and make it the one to boot next (on trial)."""
    proc = subprocess.Popen(["rauc", "install", str(bundle)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            lines.append(line.rstrip())
            m = _PERCENT.match(line)
            if m and progress is not None:
                progress(int(m.group(1)), m.group(2).strip())
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise RaucError(f"rauc install did not finish within {timeout:g} s") from None
    if code != 0:
        failed = [line for line in lines if not _PERCENT.match(line)]
        raise RaucError(_clean("\n".join(failed[-6:])) or f"rauc install failed ({code})")


@dataclass(frozen=True)
class Slot:
    """One system slot as RAUC reports it."""

    name: str  # "rootfs.0"
    bootname: str  # "A"
    device: str
    state: str  # "booted", "inactive", "active"
    boot_status: str  # "good", "bad"
    bundle_version: str | None  # what RAUC installed there (None: not installed by RAUC)
    installed_at: str | None


@dataclass(frozen=True)
class RaucStatus:
    """``rauc status``: the booted slot, the primary (next to boot) and both slots."""

    booted: str  # bootname
    primary: str | None  # slot name, e.g. "rootfs.1"
    slots: tuple[Slot, ...]


def parse_status(data: dict[str, Any]) -> RaucStatus:
    """``RaucStatus`` from ``rauc status --detailed --output-format=json`` (pure)."""
    slots = []
    for entry in data.get("slots", []):
        for name, slot in entry.items():
            status = slot.get("slot_status") or {}
            bundle = status.get("bundle") or {}
            installed = status.get("installed") or {}
            slots.append(Slot(name=name, bootname=slot.get("bootname") or "",
                              device=slot.get("device") or "", state=slot.get("state") or "",
                              boot_status=slot.get("boot_status") or "",
                              bundle_version=bundle.get("version"),
                              installed_at=installed.get("timestamp")))
    return RaucStatus(booted=data.get("booted") or "", primary=data.get("boot_primary"),
                      slots=tuple(slots))


def status(timeout: float = 60) -> RaucStatus:
    """The slots as RAUC sees them now."""
    res = _run(["rauc", "status", "--detailed", "--output-format=json"], timeout)
    if res.returncode != 0:
        raise RaucError(_clean(res.stderr or res.stdout) or "rauc status failed")
    for line in reversed(res.stdout.splitlines()):
        if line.startswith("{"):
            return parse_status(json.loads(line))
    raise RaucError("rauc status printed nothing")


def mark(state: str, which: str = "booted", timeout: float = 60) -> None:
    """``rauc status mark-good|mark-bad|mark-active booted|other``."""
    if state not in ("good", "bad", "active") or which not in ("booted", "other"):
        raise ValueError(f"mark {state} {which}")
    res = _run(["rauc", "status", f"mark-{state}", which], timeout)
    if res.returncode != 0:
        raise RaucError(_clean(res.stderr or res.stdout) or f"rauc status mark-{state} failed")


def booted_slot(cmdline: Path = Path("/proc/cmdline")) -> str | None:
    """The slot GRUB booted (``rauc.slot=A`` on the kernel command line), or None."""
    try:
        words = cmdline.read_text().split()
    except OSError:
        return None
    for word in words:
        if word.startswith("rauc.slot="):
            return word.split("=", 1)[1] or None
    return None
