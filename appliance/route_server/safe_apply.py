"""Apply a new BIRD configuration so that a bad one can never stay.

``configure timeout`` loads it with an automatic undo armed; a health gate then checks that
BIRD still answers and that no session dropped that the change did not touch; only then
``configure confirm``. On any failure ``configure undo`` brings the previous config back.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from appliance.platform.bird.control import BirdControl, BirdUnavailable
from appliance.platform.bird.replies import BirdError, Protocol

_BLOCK = re.compile(r"^protocol bgp (\S+) \{\n.*?^\}\n", re.M | re.S)
# Global settings whose change restarts every session on purpose.
_GLOBAL = re.compile(r"^(?:router id|define RS_ASN) .*$", re.M)

# Extra check run during the gate; returns a problem in words, or None when healthy.
HealthCheck = Callable[[BirdControl], str | None]


class ApplyRefused(RuntimeError):
    """The new configuration was not kept; BIRD runs the previous one. The text says why."""


@dataclass(frozen=True)
class GateSettings:
    """How long the undo stays armed and how long the gate watches the sessions."""

    confirm_timeout: int = 60
    settle: float = 2.0
    poll: float = 0.2


def session_blocks(conf_text: str) -> dict[str, str]:
    """Each BGP session's ``protocol bgp NAME { ... }`` block, by name."""
    return {m.group(1): m.group(0) for m in _BLOCK.finditer(conf_text)}


def stable_sessions(old_text: str, new_text: str) -> set[str]:
    """Sessions whose block is the same in both configs: BIRD must not restart them.

    A changed filter only makes BIRD reload routes; a changed block (address, password,
    limits) or a new router ID or ASN restarts sessions on purpose.
    """
    if _GLOBAL.findall(old_text) != _GLOBAL.findall(new_text):
        return set()
    old, new = session_blocks(old_text), session_blocks(new_text)
    return {name for name, block in new.items() if old.get(name) == block}


def dropped(before: list[Protocol], after: list[Protocol], stable: set[str]) -> list[str]:
    """Stable sessions that were established before and are not now."""
    now = {p.name: p for p in after}
    return sorted(p.name for p in before
                  if p.name in stable and p.established
                  and not (p.name in now and now[p.name].established))


def _gate(bc: BirdControl, before: list[Protocol], stable: set[str], settings: GateSettings,
          check: HealthCheck | None) -> str | None:
    deadline = time.monotonic() + settings.settle
    while True:
        try:
            status = bc.status()
            after = bc.protocols()
        except (BirdUnavailable, BirdError) as exc:
            return f"BIRD stopped answering after the change: {exc}"
        lost = dropped(before, after, stable)
        if lost:
            return "sessions dropped that the change did not touch: " + ", ".join(lost)
        if check is not None and (problem := check(bc)):
            return problem
        if time.monotonic() >= deadline and status.up:
            return None
        if time.monotonic() >= deadline + settings.confirm_timeout / 2:
            return f"BIRD did not finish reconfiguring ({status.message})"
        time.sleep(settings.poll)


def safe_configure(bc: BirdControl, conf: Path, old_text: str | None, new_text: str,
                   settings: GateSettings | None = None,
                   check: HealthCheck | None = None) -> str:
    """Load ``conf`` (holding ``new_text``) into the running BIRD, or leave the old one.

    Returns a one-line summary; raises ``ApplyRefused`` with the reason when the change was
    undone or never taken.
    """
    settings = settings or GateSettings()
    before = bc.protocols()
    stable = stable_sessions(old_text, new_text) if old_text is not None else {
        p.name for p in before}
    try:
        bc.configure_timeout(settings.confirm_timeout, conf)
    except BirdError as exc:
        # BIRD refused to load it: the running configuration was never touched.
        raise ApplyRefused(f"BIRD refused the new configuration: {exc.text}") from None
    problem = _gate(bc, before, stable, settings, check)
    if problem is None:
        try:
            bc.configure_confirm()
            return "BIRD reconfigured and confirmed"
        except (BirdUnavailable, BirdError) as exc:
            problem = f"confirming failed: {exc}"
    try:
        bc.configure_undo()
        undo = "the previous configuration was restored"
    except (BirdUnavailable, BirdError) as exc:
        undo = (f"undo failed ({exc}); BIRD restores the previous configuration by itself "
                f"within {settings.confirm_timeout} s")
    raise ApplyRefused(f"{problem}; {undo}")
