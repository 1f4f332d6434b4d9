"""What the box's own services said: their lines of the system journal (the web's Logs page).

The flashed box has root locked and usually no SSH, so an operator reads the journal in the
browser. The web UI (``ixp-web``, no capabilities) cannot read it: the apply helper runs
``journalctl`` for it (the ``journal`` verb), only ever with the arguments built here from a
unit of ``UNITS``, a number of lines and a priority, never with the caller's words.

Off the image (a developer machine, the lab) the system journal is the host's, not the box's:
nothing reads it there (``available``), the lab's daemons log to their own files.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
from dataclasses import dataclass

from appliance.platform.target import Target, on_image

# The box's own units (systemd/), as journalctl -u takes them; a pattern names transient units.
UNITS: dict[str, tuple[str, ...]] = {
    "ixp-web": ("ixp-web.service",),
    "ixp-apply": ("ixp-apply.service", "ixp-apply.socket"),
    "ixp-restore": ("ixp-restore.service",),
    "ixp-data-refresh": ("ixp-data-refresh.service", "ixp-data-refresh.timer"),
    "ixp-collector": ("ixp-collector.service",),
    "ixp-snmp": ("ixp-snmp.service", "ixp-snmp.path"),
    "ixp-anycast": ("ixp-anycast.service",),
    "ixp-bird": ("ixp-bird.service", "ixp-bird.path"),
    "ixp-unbound": ("ixp-unbound.service",),
    "ixp-stayrtr": ("ixp-stayrtr.service",),
    "ixp-https": ("ixp-https.service",),  # nginx, the HTTPS front
    "ixp-report-mail": ("ixp-report-mail.service", "ixp-report-mail.timer"),
    "ixp-state-init": ("ixp-state-init.service",),
    "ixp-firmware-gate": ("ixp-firmware-gate.service",),
    # the update and the reboot run as transient units of their own (apply_service.server)
    "ixp-firmware-update": ("ixp-firmware-update-*", "ixp-reboot.service"),
    "ixp-rauc": ("ixp-rauc.service",),
}
ALL = "all"
CHOICES = (ALL, *UNITS)
# journalctl -p: this priority and the more urgent ones
PRIORITIES = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")
MIN_LINES, MAX_LINES, DEFAULT_LINES = 1, 5000, 500
# 5000 lines of some 200 bytes are 1 MB; a flood of long lines is cut to the newest 2 MiB
MAX_BYTES = 2 * 1024 * 1024
TIMEOUT = 30.0
JOURNALCTL = "journalctl"


class JournalError(RuntimeError):
    """journalctl could not be run or failed; the message says why."""


@dataclass(frozen=True)
class Lines:
    """What journalctl printed (the newest ``MAX_BYTES`` of it) and how it was asked."""

    text: str
    argv: list[str]
    truncated: bool = False


def check_unit(value: object) -> str | None:
    """Why ``value`` is not a unit the journal may be read for, or None."""
    return None if value in CHOICES else f"must be one of {', '.join(CHOICES)}"


def check_lines(value: object) -> str | None:
    """Why ``value`` is not a number of lines to read, or None."""
    ok = isinstance(value, int) and not isinstance(value, bool) and \
        MIN_LINES <= value <= MAX_LINES
    return None if ok else f"must be a number of lines from {MIN_LINES} to {MAX_LINES}"


def check_priority(value: object) -> str | None:
    """Why ``value`` is not a journal priority (or None: every priority), or None."""
    return None if value is None or value in PRIORITIES else \
        f"must be one of {', '.join(PRIORITIES)} (or null: all)"


def argv(unit: str, lines: int = DEFAULT_LINES, priority: str | None = None) -> list[str]:
    """The journalctl command for ``unit`` (or ``ALL``); ``ValueError`` for anything the
    checks above refuse, so no caller's word ever reaches journalctl."""
    for name, why in (("unit", check_unit(unit)), ("lines", check_lines(lines)),
                      ("priority", check_priority(priority))):
        if why:
            raise ValueError(f"{name} {why}")
    units = [u for names in UNITS.values() for u in names] if unit == ALL else UNITS[unit]
    cmd = [JOURNALCTL, "--no-pager", "-o", "short-iso", "-n", str(lines)]
    for u in units:
        cmd += ["-u", u]
    if priority is not None:
        cmd += ["-p", priority]
    return cmd


def available(target: Target) -> bool:
    """Whether ``target``'s system journal is this host's: only the image's own box."""
    return target.netns is None and on_image()


def read(unit: str, lines: int = DEFAULT_LINES, priority: str | None = None) -> Lines:
    """Run journalctl for ``unit``; its output as text, the newest ``MAX_BYTES`` at most.

    ``JournalError`` when journalctl is missing, fails or takes longer than ``TIMEOUT``.
    """
    cmd = argv(unit, lines, priority)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8",
           "SYSTEMD_COLORS": "0", "SYSTEMD_PAGER": ""}
    with tempfile.TemporaryFile() as errors:  # a pipe would fill up while stdout is read
        try:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errors,
                                    stdin=subprocess.DEVNULL, env=env, cwd="/")
        except OSError as exc:
            raise JournalError(f"cannot run {JOURNALCTL}: {exc.strerror or exc}") from None
        assert proc.stdout is not None
        late = threading.Event()

        def stop() -> None:
            late.set()
            proc.kill()
        timer = threading.Timer(TIMEOUT, stop)
        timer.start()
        buf, cut = bytearray(), False
        try:
            # kept as it comes, only the newest part: memory stays bounded however much it
            # prints (journalctl writes the oldest line first)
            while chunk := proc.stdout.read1(65536):
                buf += chunk
                if len(buf) > 2 * MAX_BYTES:
                    del buf[:-MAX_BYTES]
                    cut = True
            code = proc.wait()
        finally:
            timer.cancel()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
        errors.seek(0)
        why = errors.read(4096).decode("utf-8", "replace").strip()
    if late.is_set():
        raise JournalError(f"{JOURNALCTL} took longer than {TIMEOUT:g} s")
    if code != 0:
        raise JournalError(f"{JOURNALCTL} failed ({code}): {why or 'no reason given'}")
    if len(buf) > MAX_BYTES:
        del buf[:-MAX_BYTES]
        cut = True
    if cut:  # from the first whole line on
        del buf[:buf.find(b"\n") + 1]
    return Lines(buf.decode("utf-8", "replace"), cmd, cut)
