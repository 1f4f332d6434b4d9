"""Installing an update: check the bundle, install it into the other slot, drain, reboot.

The order is what keeps "nothing changed" true for every refusal: the bundle is read and
checked (signature, compatible, schema, version, space) before RAUC writes anything; RAUC
writes only the slot that is not running and makes it the next boot only once it is whole.
Then the trial is recorded on the data partition (with the sessions Established now, which
the health gate compares with), the route server drains for the drain time, and the box
reboots into the new system on trial.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from appliance.firmware import bundle, health, rauc, records
from appliance.firmware.bundle import BundleInfo, BundleRefused
from appliance.firmware.status import record_slot_versions, running_version, slot_bytes
from appliance.route_server import drain

Say = Callable[[str], None]


def data_schema(state_dir: Path) -> int:
    """The schema version of the newest configuration on the data partition (1 if none)."""
    from appliance.config.migrations import IMPLICIT_VERSION, text_version
    from appliance.config.revisions import RevisionStore

    latest = RevisionStore(state_dir).latest()
    return text_version(latest.config) if latest is not None else IMPLICIT_VERSION


def other_slot(booted: str | None) -> str | None:
    """The slot an install writes to."""
    return {"A": "B", "B": "A"}.get(booted or "")


def check(path: Path, state_dir: Path, *, allow_downgrade: bool = False,
          payload: bool = True) -> BundleInfo:
    """The bundle's manifest if it may be installed here; ``BundleRefused`` otherwise.

    ``payload=False`` skips reading the whole content again, for a file this box already
    checked whole (the Firmware page's upload, kept in the root-only state dir).
    """
    if not rauc.available():
        raise BundleRefused(["this system cannot install updates (no RAUC configuration: "
                             "only the appliance image can)"])
    if not path.is_file():
        raise BundleRefused([f"no such file: {path}"])
    info = bundle.read(path, payload=payload)
    target = other_slot(rauc.booted_slot())
    if target is None:
        raise BundleRefused(["this system was not booted through the A/B boot menu, so there "
                             "is no other slot to install into"])
    reasons = bundle.refusals(info, running_version=running_version(),
                              data_schema=data_schema(state_dir),
                              allow_downgrade=allow_downgrade, slot_bytes=slot_bytes(target))
    if reasons:
        raise BundleRefused(reasons)
    return info


def established_now(state_dir: Path) -> list[str]:
    """The BGP sessions of the route server that are Established now."""
    from appliance.platform.bird.query import protocols, route_server_socket
    try:
        return sorted(p.name for p in protocols(route_server_socket(state_dir), timeout=10)
                      if p.proto == "BGP" and p.established)
    except Exception:  # BIRD not running: no sessions to bring back
        return []


def start_drain(state_dir: Path, seconds: float, reason: str, say: Say) -> None:
    """Drain the route server for ``seconds`` (re-apply with the drain on; no new revision)."""
    # the composition root: the drain is applied by every concern's pipeline, as any change
    from appliance.box import build_pipeline

    drain.write(state_dir, seconds, reason)
    outcome = build_pipeline(state_dir).reapply_latest(author="drain")
    if not outcome.ok:
        drain.clear(state_dir)
        raise RuntimeError(f"the drain could not be applied: {outcome.error}")
    say(f"route server draining for {seconds:g} s: every route it sends carries "
        "GRACEFUL_SHUTDOWN (65535:0)")


def end_drain(state_dir: Path, say: Say, *, apply: bool = True) -> None:
    """End a drain (``apply=False``: only forget it, e.g. right before a reboot)."""
    from appliance.box import build_pipeline

    if drain.clear(state_dir) and apply:
        outcome = build_pipeline(state_dir).reapply_latest(author="drain")
        if not outcome.ok:
            raise RuntimeError(f"the end of the drain could not be applied: {outcome.error}")
        say("route server drain ended: routes are sent without GRACEFUL_SHUTDOWN again")


def install(path: Path, state_dir: Path, *, allow_downgrade: bool = False,
            payload_checked: bool = False, drain_seconds: float = drain.DEFAULT_SECONDS,
            health_timeout: float = health.DEFAULT_TIMEOUT, reboot: bool = True,
            say: Say = print) -> BundleInfo:
    """The whole update; returns only if ``reboot`` is False (or raises on a refusal)."""
    def step(name: str, message: str, percent: int | None = None) -> None:
        records.progress(state_dir, name, message, percent)
        say(message)

    step("check", f"checking {path.name}")
    try:
        info = check(path, state_dir, allow_downgrade=allow_downgrade,
                     payload=not payload_checked)
    except BundleRefused as exc:
        records.progress(state_dir, "check", "refused: " + str(exc), done=True, ok=False)
        raise
    booted = rauc.booted_slot()
    target = other_slot(booted)
    before = established_now(state_dir)
    step("install", f"installing ixp-appliance {info.version} into slot {target}", 0)
    try:
        rauc.install(path, progress=lambda pct, what: records.progress(
            state_dir, "install", f"installing ixp-appliance {info.version}: {what}", pct))
    except rauc.RaucError as exc:
        records.progress(state_dir, "install", f"RAUC did not install it: {exc}", done=True,
                         ok=False)
        raise BundleRefused([f"RAUC did not install it: {exc}; the running system is "
                             "unchanged and stays the one to boot"]) from None
    with contextlib.suppress(OSError):  # the page's slot table; never block the update
        record_slot_versions(state_dir, {target: info.version})
    records.write(state_dir, records.PENDING, {
        "from_version": running_version(), "to_version": info.version, "slot": target,
        "from_slot": booted, "established_before": before, "health_timeout": health_timeout,
        "installed_at": time.time(), "failure": None})
    step("installed", f"ixp-appliance {info.version} is installed in slot {target}", 100)
    if not reboot:
        say("not rebooting (--no-reboot): the next boot starts the new system on trial")
        return info
    if drain_seconds > 0 and before:
        step("drain", f"draining the route server for {drain_seconds:g} s before the reboot")
        start_drain(state_dir, drain_seconds, f"update to {info.version}", say)
        time.sleep(drain_seconds)
    # the new system must not come up drained: forget the drain without applying it
    end_drain(state_dir, say, apply=False)
    step("reboot", f"rebooting into ixp-appliance {info.version} (trial boot)")
    subprocess.run(["sync"], check=False)
    subprocess.run(["systemctl", "reboot"], check=False, timeout=60)
    return info
