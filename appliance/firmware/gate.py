"""The health gate, at every boot (``ixpctl system gate``, ixp-firmware-gate.service).

- No update pending: the running slot is marked good at once (GRUB counts every boot as an
  attempt; this is what keeps the box on it).
- An update pending and this is its new slot (the trial boot): the box is checked
  (``health``) until it is healthy or the bound passes. Healthy: ``rauc status mark-good``,
  and the update is recorded as done. Not healthy: the reason is written to the pending
  record first (the old system shows it), the slot is marked bad, and the box reboots into
  the previous system. A boot that hangs never gets here: the boot counter in GRUB returns to
  the previous slot on the next start (a watchdog, ``panic=30``, or a person's reset).
- An update pending and this is the old slot: the update failed and was rolled back. The
  reason is the one the new system wrote, or that it never finished its check; it goes to the
  log, the console and the dashboard ("update to X failed and was rolled back: …").
"""

from __future__ import annotations

import logging
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from appliance.firmware import health, rauc, records
from appliance.firmware.status import record_slot_versions, running_version

log = logging.getLogger(__name__)
HUNG = ("the new system did not finish its health check: it hung, lost power or was "
        "restarted before it could be checked")


def rolled_back_message(pending: dict[str, Any]) -> str:
    """The sentence the log and the dashboard show after a fallback."""
    return (f"update to {pending.get('to_version', '?')} failed and was rolled back: "
            f"{pending.get('failure') or HUNG}")


def wait_healthy(state_dir: Path, before: list[str], timeout: float,
                 observe: Callable[[Path], health.Observation] = health.observe,
                 every: float = 5.0, say: Callable[[str], None] = print) -> health.Verdict:
    """Check the box every ``every`` s until healthy, a fatal problem, or ``timeout``."""
    deadline = time.monotonic() + timeout
    last_reason = ""
    while True:
        verdict = health.evaluate(observe(state_dir), before)
        if verdict.healthy or verdict.fatal or time.monotonic() >= deadline:
            return verdict
        if verdict.reason != last_reason:
            say(f"firmware health check: waiting: {verdict.reason}")
            last_reason = verdict.reason
        time.sleep(every)


def run(state_dir: Path, *, say: Callable[[str], None] = print,
        reboot: Callable[[], None] | None = None,
        observe: Callable[[Path], health.Observation] = health.observe) -> int:
    """The gate's whole job at one boot; the exit code of ``ixpctl system gate``."""
    prog = records.read(state_dir, records.PROGRESS)
    if prog is not None and not prog.get("done"):
        # the update that wrote it ended with the reboot that started this system
        records.write(state_dir, records.PROGRESS, {**prog, "done": True})
    booted = rauc.booted_slot()
    if booted is None:
        say("firmware gate: not booted through the A/B boot menu (no rauc.slot=): nothing to do")
        return 0
    pending = records.read(state_dir, records.PENDING)
    version = running_version()
    try:
        record_slot_versions(state_dir)
    except OSError as exc:  # the slots' versions are for the page: never block the gate
        say(f"firmware gate: could not record the slots' versions: {exc}")
    if pending is None:
        rauc.mark("good", "booted")
        say(f"firmware: ixp-appliance {version} on slot {booted}, marked good")
        return 0
    target = pending.get("slot")
    if target != booted:
        message = rolled_back_message(pending)
        say(message)
        log.error(message)
        records.write(state_dir, records.LAST, {
            "result": "rolled_back", "version": pending.get("to_version"),
            "from_version": pending.get("from_version"), "reason": pending.get("failure") or HUNG,
            "message": message, "at": time.time()})
        records.remove(state_dir, records.PENDING)
        rauc.mark("good", "booted")
        try:
            rauc.mark("bad", "other")  # not tried again until a new bundle is installed there
        except rauc.RaucError as exc:
            say(f"firmware: could not mark the other slot bad: {exc}")
        return 0

    timeout = float(pending.get("health_timeout") or health.DEFAULT_TIMEOUT)
    before = list(pending.get("established_before") or [])
    say(f"firmware: trial boot of ixp-appliance {version} on slot {booted}: checking the box "
        f"(up to {timeout:g} s; {len(before)} BGP sessions were Established before)")
    verdict = wait_healthy(state_dir, before, timeout, observe=observe, say=say)
    if verdict.still_down:
        say("firmware: sessions still down (their members' routers, not counted): "
            + ", ".join(verdict.still_down))
    if verdict.healthy:
        rauc.mark("good", "booted")
        records.write(state_dir, records.LAST, {
            "result": "ok", "version": version, "from_version": pending.get("from_version"),
            "still_down": list(verdict.still_down), "at": time.time(),
            "message": f"update to {version} succeeded"})
        records.remove(state_dir, records.PENDING)
        say(f"firmware: update to {version} succeeded: slot {booted} marked good")
        return 0
    pending["failure"] = verdict.reason
    records.write(state_dir, records.PENDING, pending)  # the old system reads the reason
    say(f"firmware: update to {version} is not healthy: {verdict.reason}; "
        "going back to the previous system")
    log.error("update to %s is not healthy: %s", version, verdict.reason)
    try:
        rauc.mark("bad", "booted")
    except rauc.RaucError as exc:  # the boot counter still returns: this slot was tried
        say(f"firmware: could not mark this slot bad ({exc}); the boot counter decides")
    (reboot or _reboot)()
    return 1


def _reboot() -> None:
    subprocess.run(["systemctl", "reboot"], check=False, timeout=60)
