"""Which labs run on this machine, so a command finds the running demo's state by itself.

``ixpctl demo`` and ``ixpctl lab up`` record their state directory here (one small file per
lab, on the tmpfs ``/run``: a reboot ends every lab and forgets them too); ``ixpctl status``,
``ixpctl setup-code`` and the other verbs look here when no ``--state-dir`` is given.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from appliance.platform import netns
from appliance.util.atomic import atomic_write

REGISTRY_ENV = "IXP_LAB_REGISTRY"
DEFAULT_REGISTRY = Path("/run/ixp-appliance/labs")


def registry_dir() -> Path:
    """Where running labs are recorded ($IXP_LAB_REGISTRY lets a test use its own)."""
    return Path(os.environ.get(REGISTRY_ENV) or DEFAULT_REGISTRY)


def register(prefix: str, state_dir: Path) -> None:
    """Record that the lab ``prefix`` keeps its state in ``state_dir`` (absolute)."""
    folder = registry_dir()
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(folder / prefix, str(state_dir.resolve()).encode(), 0o644)


def unregister(prefix: str) -> None:
    """Forget the lab ``prefix``."""
    with contextlib.suppress(OSError):
        (registry_dir() / prefix).unlink()


def running_state_dirs() -> list[Path]:
    """State directories of the labs that still run (their appliance namespace exists)."""
    folder = registry_dir()
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return []
    found: list[Path] = []
    for entry in entries:
        try:
            state_dir = Path(entry.read_text().strip())
        except OSError:
            continue
        if netns.exists(f"{entry.name}-ixp") and (state_dir / "lab.json").exists():
            found.append(state_dir)
        else:
            unregister(entry.name)  # left by a lab that ended without saying so
    return found
