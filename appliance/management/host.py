"""The tool wrapper: the image host's own files and the systemd tools that apply them.

Only the management concern calls this, and only on the appliance image (never in a lab or on
a developer machine: the host's name, addresses and clock are not ours there). Every method
reads first and writes only what differs, so a no-op apply changes nothing.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from appliance.util.atomic import atomic_write

# The file ixp-host-init writes at first boot, and this concern replaces from then on.
NETWORK = "etc/systemd/network/10-ixp-mgmt.network"
TIMESYNCD = "etc/systemd/timesyncd.conf.d/ixp.conf"
HOSTNAME = "etc/hostname"
TIMEZONE = "etc/timezone"
LOCALTIME = "etc/localtime"

Runner = Callable[[Sequence[str]], str]


class HostError(RuntimeError):
    """A system tool refused a management setting; the message names the tool and why."""


def run_tool(argv: Sequence[str]) -> str:
    """Run a system tool; its stdout, or ``HostError`` with what it said."""
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=60,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise HostError(f"{argv[0]}: {exc}") from None
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()
        raise HostError(f"{' '.join(argv[:3])} failed: {said[-1] if said else done.returncode}")
    return done.stdout


@dataclass
class Host:
    """The host's management files under ``root`` and the tools that make them take effect."""

    root: Path = Path("/")
    run: Runner = run_tool
    gethostname: Callable[[], str] = socket.gethostname
    # What the last apply changed, for the log and the tests.
    actions: list[str] = field(default_factory=list)

    def _read(self, rel: str) -> str | None:
        try:
            return (self.root / rel).read_text("utf-8")
        except (FileNotFoundError, NotADirectoryError):
            return None

    # -- reading ---------------------------------------------------------------------------

    def network_file(self) -> str | None:
        """The management NIC's .network file as installed."""
        return self._read(NETWORK)

    def timesyncd_file(self) -> str | None:
        """The NTP drop-in as installed."""
        return self._read(TIMESYNCD)

    def hostname(self) -> str:
        """The running host name."""
        return self.gethostname()

    def timezone(self) -> str:
        """The configured time zone (/etc/localtime's target, as timedatectl sets it)."""
        link = self.root / LOCALTIME
        try:
            target = str(link.readlink())
        except OSError:
            return "UTC"
        marker = "zoneinfo/"
        return target.split(marker, 1)[1] if marker in target else "UTC"

    # -- writing ---------------------------------------------------------------------------

    def set_network(self, text: str, interfaces: Sequence[str]) -> None:
        """Install the .network file; systemd-networkd applies it to ``interfaces`` now (the
        new management NIC and the one it replaces)."""
        atomic_write(self.root / NETWORK, text.encode("utf-8"), 0o644)
        self.run(["networkctl", "reload"])
        # reconfigure drops addresses the file no longer has (reload alone keeps them)
        for name in dict.fromkeys(interfaces):
            if (self.root / "sys/class/net" / name).exists():
                self.run(["networkctl", "reconfigure", name])
        self.actions.append("network")

    def set_ntp(self, text: str) -> None:
        """Install the NTP drop-in and restart the NTP client on it."""
        atomic_write(self.root / TIMESYNCD, text.encode("utf-8"), 0o644)
        self.run(["timedatectl", "set-ntp", "true"])
        self.run(["systemctl", "restart", "systemd-timesyncd.service"])
        self.actions.append("ntp")

    def set_hostname(self, name: str) -> None:
        """systemd-hostnamed writes /etc/hostname and sets the kernel's name."""
        self.run(["hostnamectl", "set-hostname", name])
        self.actions.append("hostname")

    def set_timezone(self, zone: str) -> None:
        """systemd-timedated points /etc/localtime at the zone."""
        self.run(["timedatectl", "set-timezone", zone])
        self.actions.append("timezone")

    def schedule_revert(self, trial_id: str, seconds: int, state_dir: Path) -> None:
        """A transient systemd timer that puts the confirmed address back unless confirmed.

        systemd runs it, not this process: it fires even if the web service restarts.
        """
        self.run(["systemd-run", f"--unit=ixp-mgmt-trial-{trial_id}",
                  f"--on-active={seconds}s", "--timer-property=AccuracySec=1s",
                  "--description=IXP appliance: revert an unconfirmed management address",
                  sys.executable, "-m", "appliance.cli", "management", "revert",
                  "--trial", trial_id, "--state-dir", str(state_dir)])
        self.actions.append("trial")

    def cancel_revert(self, trial_id: str) -> None:
        """Stop a trial's timer (best effort: the revert checks the trial id anyway)."""
        with contextlib.suppress(HostError):
            self.run(["systemctl", "stop", f"ixp-mgmt-trial-{trial_id}.timer"])

    def ntp_state(self) -> dict[str, str]:
        """The NTP client's server and whether the clock is synchronised (empty if unknown)."""
        out: dict[str, str] = {}
        for argv in (["timedatectl", "show", "-p", "NTPSynchronized", "-p", "NTP"],
                     ["timedatectl", "show-timesync", "-p", "ServerName", "-p",
                      "ServerAddress"]):
            try:
                text = self.run(argv)
            except HostError:
                continue
            for line in text.splitlines():
                key, _, value = line.partition("=")
                if key:
                    out[key] = value
        return out
