"""The box's NICs and what each is for: the wizard's and the UI's port list (read-only).

Reading happens in the namespace whose NICs are listed: sysfs shows the devices of the
namespace it was mounted in, so for another namespace this module runs itself there through
``ip netns exec`` (which mounts a fresh sysfs) and reads the JSON it prints.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Literal

import psutil

from appliance.bridge.desired import member_ports
from appliance.config.model import BLACKHOLE_PORT, IXPConfig
from appliance.platform.netns import command as netns_command
from appliance.platform.rtnl import open_rtnl
from appliance.platform.target import Target

SYS_NET = Path("/sys/class/net")
Role = Literal["management", "member", "peering-lan", "free"]


@dataclass(frozen=True)
class Nic:
    """One network device as the wizard shows it."""

    name: str
    mac: str | None
    driver: str | None  # kernel driver (e1000e, ixgbe...) or the kind of a virtual device
    kind: str | None  # None for a physical NIC; veth, bridge, vlan... otherwise
    operstate: str  # up, down, lowerlayerdown, unknown...
    carrier: bool
    speed_mbps: int | None  # None when the NIC does not know (down, virtual)
    mtu: int
    role: Role = "free"
    used_by: str = ""  # "AS64496 Island Telecom" for a member port
    master: str | None = None  # the bridge (or bond) the kernel has it in, if any

    def as_dict(self) -> dict[str, object]:
        """JSON form."""
        return asdict(self)


def _driver(name: str, kind: str | None) -> str | None:
    try:
        return os.path.basename(os.readlink(SYS_NET / name / "device" / "driver"))
    except OSError:
        return kind  # virtual devices have no driver link


def collect_local() -> list[Nic]:
    """Every device of this process's namespace except loopback, sorted by name."""
    stats = psutil.net_if_stats()
    out: list[Nic] = []
    with open_rtnl(None) as rtnl:
        links = rtnl.links()
    names = {link.index: link.name for link in links}
    for link in links:
        if link.name == "lo":
            continue
        st = stats.get(link.name)
        out.append(Nic(
            name=link.name,
            mac=link.mac_text or None,
            driver=_driver(link.name, link.kind),
            kind=link.kind,
            operstate=link.oper.lower(),
            carrier=link.carrier,
            speed_mbps=st.speed if st is not None and st.speed > 0 else None,
            mtu=link.mtu,
            master=names.get(link.master) if link.master else None,
        ))
    return sorted(out, key=lambda n: n.name)


def collect(target: Target) -> list[Nic]:
    """The devices of ``target``'s namespace."""
    if target.netns is None:
        return collect_local()
    # The package's own location first, so the child imports this very code.
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, (root, os.environ.get("PYTHONPATH"))))}
    proc = subprocess.run(
        netns_command(target.netns, [sys.executable, "-m", "appliance.bridge.inventory"]),
        capture_output=True, text=True, timeout=60, check=False, env=env,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"cannot list the NICs of namespace {target.netns}: "
                           f"{proc.stderr.strip()}")
    return [Nic(**item) for item in json.loads(proc.stdout)]


def classify(nics: list[Nic], cfg: IXPConfig) -> list[Nic]:
    """Each NIC with its role in ``cfg``: management, member port, the bridge, or free."""
    members: dict[str, str] = {}
    for p in member_ports(cfg):
        members[p.ifname] = p.member
        if p.parent:  # a trunk carries several members' VLANs
            members[p.parent] = ", ".join(filter(None, (members.get(p.parent), p.member)))
    out = []
    for nic in nics:
        if nic.name == cfg.management.interface:
            out.append(replace(nic, role="management", used_by="web UI, SSH, SNMP"))
        elif nic.name == cfg.peering_lan.bridge:
            out.append(replace(nic, role="peering-lan", used_by="peering LAN bridge"))
        elif nic.name == BLACKHOLE_PORT:  # ours, made for blackholing: never offered
            out.append(replace(nic, role="peering-lan", used_by="blackhole"))
        elif nic.name in members:
            out.append(replace(nic, role="member", used_by=members[nic.name]))
        else:
            out.append(replace(nic, role="free", used_by=""))
    return out


def inventory(cfg: IXPConfig, target: Target) -> list[Nic]:
    """The port list for the wizard and the UI."""
    return classify(collect(target), cfg)


if __name__ == "__main__":  # run inside a namespace by ``collect``
    json.dump([n.as_dict() for n in collect_local()], sys.stdout)
