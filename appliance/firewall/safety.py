"""Checks that keep the management firewall from locking the operator out.

The ruleset accepts SSH and the web UI only on ``management.interface``. On the appliance
image a wrong name there (the default ``eth0`` on a box whose first port is ``enp1s0``, a typo,
a renamed NIC) would cut off every way in but the console, so the firewall is never loaded on
a real host whose management interface does not exist.
"""

from __future__ import annotations

from pathlib import Path

from appliance.config.model import IXPConfig

# Written by rootfs/usr/local/sbin/ixp-host-init at first boot: the NIC it chose for management.
RECORDED_MGMT_INTERFACE = Path("/etc/ixp-appliance/mgmt-interface")
SYS_CLASS_NET = Path("/sys/class/net")


class LockoutRefused(ValueError):
    """Loading the firewall now would lock the operator out; the message says what to do.

    A ``ValueError`` so that the pipeline's plan stage reports it and changes nothing.
    """


def recorded_mgmt_interface(path: Path = RECORDED_MGMT_INTERFACE) -> str | None:
    """The management NIC ixp-host-init chose at first boot, if this is the image and it did.

    Also meant for the setup wizard's default for ``management.interface``.
    """
    try:
        name = path.read_text("utf-8").strip()
    except OSError:
        return None
    return name or None


def interface_exists(name: str, sys_net: Path = SYS_CLASS_NET) -> bool:
    """Whether network interface ``name`` exists in this process's network namespace."""
    return "/" not in name and name not in ("", ".", "..") and (sys_net / name).exists()


def check_host_interface(cfg: IXPConfig, *, sys_net: Path = SYS_CLASS_NET,
                         recorded: Path = RECORDED_MGMT_INTERFACE) -> None:
    """Refuse (``LockoutRefused``) when the firewall is on and its management NIC is missing.

    Run only for the real host (the image), never for a lab namespace: the lab has no
    management NIC, and nobody manages it over one.
    """
    mgmt = cfg.management
    if not mgmt.firewall or interface_exists(mgmt.interface, sys_net):
        return
    chosen = recorded_mgmt_interface(recorded)
    if chosen and chosen != mgmt.interface and interface_exists(chosen, sys_net):
        fix = (f"the management NIC chosen at first boot is {chosen} ({recorded}): set "
               f"management.interface to {chosen}")
    else:
        fix = ("set management.interface to the NIC you manage the box through (the port "
               "inventory lists them; 'ip link' on the console)")
    raise LockoutRefused(
        f"management.interface: interface {mgmt.interface} does not exist on this box, and the "
        "management firewall accepts SSH, the web UI and SNMP only on that NIC, so loading it "
        f"would lock you out; {fix}, or set management.firewall to false")
