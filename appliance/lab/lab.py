"""Bring the namespace lab up and down.

Layout: one appliance namespace ``<prefix>-ixp`` holding a port per member (named as in the
config, e.g. ``ixp1``), and one namespace per member ``<prefix>-m<N>``, joined to its port by a
veth pair, with the member's MAC and addresses and a BIRD of its own. What was made is recorded in
``<state_dir>/lab.json`` *before* it is made, so ``lab down`` can remove everything even after a
crash half-way through ``lab up``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from appliance.config.model import IXPConfig, Member
from appliance.lab.member_router import render_member_bird
from appliance.platform import netns, shipped
from appliance.platform.target import Target
from appliance.util.atomic import atomic_write
from appliance.util.sockets import socket_path

LAB_FILE = "lab.json"
MEMBER_IFNAME = "eth0"


class LabError(RuntimeError):
    """The lab could not be brought up or down; the message says why and what to do."""


@dataclass
class LabMember:
    """One member router of the lab."""

    asn: int
    name: str
    netns: str
    port: str
    socket: str
    pid: int | None = None
    slot: int = -1  # place in the lab (m<slot+1>); -1 in files written before slots existed
    wiring: str = ""  # MAC and addresses the router was wired with (a change re-wires it)

    def __post_init__(self) -> None:
        if self.slot < 0:
            self.slot = int(self.netns.rsplit("-m", 1)[1]) - 1


@dataclass
class LabState:
    """What a lab made; saved as ``lab.json``."""

    prefix: str
    appliance_netns: str
    prefixes_per_member: int
    members: list[LabMember] = field(default_factory=list)
    # The tree of the image's daemons the lab's route server, resolver and nft run from
    # (platform/shipped.py; "" the host's): a later command on this state dir, from a shell
    # without IXP_SHIPPED_ROOT, uses the same ones (nft versions must not mix on one ruleset).
    shipped_root: str = ""

    def save(self, state_dir: Path) -> None:
        """Record the state atomically."""
        atomic_write(state_dir / LAB_FILE, json.dumps(asdict(self), indent=1).encode(), 0o644)

    @classmethod
    def load(cls, state_dir: Path) -> LabState | None:
        """The recorded lab of ``state_dir``, if any."""
        try:
            data = json.loads((state_dir / LAB_FILE).read_text())
            members = [LabMember(**m) for m in data.pop("members")]
            return cls(**data, members=members)
        except FileNotFoundError:
            return None
        except (ValueError, TypeError, KeyError) as exc:
            raise LabError(f"{state_dir / LAB_FILE} is damaged ({exc}); remove namespaces "
                           "starting with 'ixl-' by hand with 'ip netns del'") from None


def lab_dir(state_dir: Path) -> Path:
    """Where member router configs, sockets and logs live."""
    return state_dir / "lab"


def _pid_is_ours(pid: int, marker: str) -> bool:
    # The PID may have been reused by an unrelated process since we recorded it.
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return False
    return marker in cmdline


def _stop_pid(pid: int, marker: str, timeout: float = 5.0) -> None:
    if not _pid_is_ours(pid, marker):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _pid_is_ours(pid, marker):
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.05)
    if _pid_is_ours(pid, marker):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def wiring(member: Member) -> str:
    """What a member router is wired with; a change of it means re-wiring the router."""
    return " ".join([*member.macs[:1], *map(str, member.ipv4), *map(str, member.ipv6)])


def _wire_member(state: LabState, cfg: IXPConfig, member: Member, lm: LabMember) -> None:
    from pyroute2 import IPRoute  # only when wiring: the web UI's status imports this module

    lan = cfg.peering_lan
    with IPRoute(netns=state.appliance_netns) as ipr:
        ipr.link("add", ifname=lm.port, kind="veth",
                 peer={"ifname": MEMBER_IFNAME, "net_ns_fd": lm.netns})
        port_idx = ipr.link_lookup(ifname=lm.port)[0]
        ipr.link("set", index=port_idx, mtu=lan.mtu, state="up")
    with IPRoute(netns=lm.netns) as ipr:
        idx = ipr.link_lookup(ifname=MEMBER_IFNAME)[0]
        ipr.link("set", index=idx, address=member.macs[0], mtu=lan.mtu)
        for addr in member.ipv4:
            ipr.addr("add", index=idx, address=str(addr), prefixlen=lan.ipv4_prefix.prefixlen)
        if lan.ipv6_prefix is not None:
            # nodad: the lab's addresses are unique by validation, and DAD would delay BGP.
            for addr6 in member.ipv6:
                ipr.addr("add", index=idx, address=str(addr6),
                         prefixlen=lan.ipv6_prefix.prefixlen, flags=0x02)
        ipr.link("set", index=idx, state="up")
    lm.wiring = wiring(member)


def _start_router(state_dir: Path, state: LabState, cfg: IXPConfig, index: int,
                  lm: LabMember) -> int:
    base = lab_dir(state_dir)
    conf = base / f"m{lm.slot + 1}.conf"
    conf.write_text(render_member_bird(cfg, index, state.prefixes_per_member, slot=lm.slot))
    log = open(base / f"m{lm.slot + 1}.log", "ab")  # noqa: SIM115 (owned by the child)
    proc = subprocess.Popen(
        netns.command(lm.netns, ["bird", "-f", "-c", str(conf), "-s", lm.socket]),
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,  # survives the CLI; 'lab down' ends it by PID
    )
    log.close()
    return proc.pid


def _check_lab_ports(cfg: IXPConfig) -> None:
    for i, m in enumerate(cfg.members):
        if len(m.ports) != 1 or m.ports[0].vlan is not None:
            raise LabError(f"members[{i}].ports: the lab models one untagged port per member")


def lab_up(cfg: IXPConfig, state_dir: str | Path, *, prefixes_per_member: int = 5,
           prefix: str | None = None) -> LabState:
    """Create the lab for ``cfg``; on any failure everything made so far is removed."""
    netns.require_root()
    state_dir = Path(state_dir)
    existing = LabState.load(state_dir)
    if existing is not None:
        raise LabError(f"a lab is already recorded in {state_dir} ({existing.prefix}); "
                       "run 'ixpctl lab down' first")
    _check_lab_ports(cfg)
    prefix = prefix or netns.unique_prefix("ixl")
    base = lab_dir(state_dir)
    base.mkdir(parents=True, exist_ok=True)
    state = LabState(prefix, f"{prefix}-ixp", prefixes_per_member, [
        LabMember(m.asn, m.name, f"{prefix}-m{i + 1}", m.ports[0].interface,
                  str(socket_path(base / f"m{i + 1}.ctl")), slot=i)
        for i, m in enumerate(cfg.members)
    ], shipped_root=str(shipped.root() or ""))
    state.save(state_dir)  # recorded first: a crash from here on is cleaned by lab_down
    try:
        netns.create(state.appliance_netns)
        for i, lm in enumerate(state.members):
            netns.create(lm.netns)
            _wire_member(state, cfg, cfg.members[i], lm)
        for i, lm in enumerate(state.members):
            lm.pid = _start_router(state_dir, state, cfg, i, lm)
            state.save(state_dir)
    except Exception:
        lab_down(state_dir)
        raise
    return state


@dataclass
class LabPlan:
    """How the lab's member routers must change to match a config."""

    add: list[int] = field(default_factory=list)  # indexes into cfg.members
    remove: list[LabMember] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.add or self.remove)


def plan_members(state: LabState, cfg: IXPConfig, existing_links: set[str]) -> LabPlan:
    """Which member routers to add and remove so the lab has one per member of ``cfg``. Pure.

    A member is matched to the router on its port; a router whose member left, or whose
    member changed ASN, MAC or addresses, is removed (and added again when the member
    stays). A port that exists but is not one the lab made is never the lab's to replace.
    """
    by_port = {lm.port: lm for lm in state.members}
    plan = LabPlan()
    wanted: set[str] = set()
    for i, m in enumerate(cfg.members):
        if len(m.ports) != 1 or m.ports[0].vlan is not None:
            continue  # verify refuses it; nothing to plan
        port = m.ports[0].interface
        wanted.add(port)
        lm = by_port.get(port)
        if lm is None:
            if port not in existing_links:
                plan.add.append(i)
        elif lm.asn != m.asn or (lm.wiring and lm.wiring != wiring(m)):
            plan.remove.append(lm)
            plan.add.append(i)
    plan.remove.extend(lm for lm in state.members if lm.port not in wanted)
    return plan


def _next_slot(state: LabState) -> int:
    return max((lm.slot for lm in state.members), default=-1) + 1


def sync_members(state_dir: str | Path, cfg: IXPConfig) -> LabPlan:
    """Add and remove member routers (namespace, veth port, BIRD) so the lab matches ``cfg``.

    Idempotent: a second call finds nothing to do. Each router is recorded in ``lab.json``
    before it is made, so ``lab down`` removes it even after a crash half-way.
    """
    netns.require_root()
    state_dir = Path(state_dir)
    state = LabState.load(state_dir)
    if state is None:
        raise LabError(f"no lab is recorded in {state_dir}")
    _check_lab_ports(cfg)
    from pyroute2 import IPRoute  # only when changing the lab (see _wire_member)

    with IPRoute(netns=state.appliance_netns) as ipr:
        links = {link.get_attr("IFLA_IFNAME") for link in ipr.get_links()}
    plan = plan_members(state, cfg, links - {lm.port for lm in state.members})
    for lm in plan.remove:
        if lm.pid:
            _stop_pid(lm.pid, lm.socket)
        netns.remove(lm.netns)  # its end of the veth pair takes the port with it
        state.members.remove(lm)
        state.save(state_dir)
    base = lab_dir(state_dir)
    base.mkdir(parents=True, exist_ok=True)
    for i in plan.add:
        m = cfg.members[i]
        slot = _next_slot(state)
        lm = LabMember(m.asn, m.name, f"{state.prefix}-m{slot + 1}", m.ports[0].interface,
                       str(socket_path(base / f"m{slot + 1}.ctl")), slot=slot)
        state.members.append(lm)
        state.save(state_dir)
        netns.create(lm.netns)
        _wire_member(state, cfg, m, lm)
        lm.pid = _start_router(state_dir, state, cfg, i, lm)
        state.save(state_dir)
    return plan


def lab_down(state_dir: str | Path) -> list[str]:
    """Stop the lab's routers and remove its namespaces; returns what was removed."""
    state_dir = Path(state_dir)
    state = LabState.load(state_dir)
    if state is None:
        return []
    removed: list[str] = []
    for lm in state.members:
        if lm.pid:
            _stop_pid(lm.pid, lm.socket)
    _stop_services(Target(state_dir, state.appliance_netns))
    # Any other process still inside a lab namespace was started for the lab (the route
    # server, services); end it by PID so no namespace is held open.
    for name in netns.list_with_prefix(state.prefix):
        for pid in _pids_in_netns(name):
            _stop_pid(pid, "")
        netns.remove(name)
        removed.append(name)
    (state_dir / LAB_FILE).unlink(missing_ok=True)
    return removed


def _stop_services(target: Target) -> None:
    """Stop the helper and the agent the applies started for the lab: the helper first, by
    its PID file, so it withdraws while its namespace is there; the SNMP agent, which runs in
    the host's namespace (it listens on the host's loopback), is found by no namespace."""
    from appliance.anycast import service as anycast
    from appliance.snmp import service as snmp

    anycast.stop(target)
    snmp.stop(target)


def _pids_in_netns(name: str) -> list[int]:
    try:
        out = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True,
                             timeout=10, check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [int(x) for x in out.split() if x.isdigit()]


def member_protocols(lm: LabMember) -> dict[str, str]:
    """BGP session states of a member router (``rs4``/``rs6`` → ``Established``, ...)."""
    try:
        out = subprocess.run(["birdc", "-s", lm.socket, "show", "protocols"], capture_output=True,
                             text=True, timeout=5, check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return {}
    states: dict[str, str] = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 6 and parts[1] == "BGP":
            states[parts[0]] = parts[5]
    return states


def lab_status(state_dir: str | Path) -> dict[str, object] | None:
    """The lab's namespaces, routers and their BGP states; None when no lab is recorded."""
    state = LabState.load(Path(state_dir))
    if state is None:
        return None
    members = []
    for lm in state.members:
        alive = bool(lm.pid) and _pid_is_ours(lm.pid or 0, lm.socket)
        members.append({
            "asn": lm.asn, "name": lm.name, "netns": lm.netns, "port": lm.port,
            "router_pid": lm.pid, "router_running": alive,
            "sessions": member_protocols(lm) if alive else {},
        })
    return {
        "prefix": state.prefix,
        "appliance_netns": state.appliance_netns,
        "appliance_netns_exists": netns.exists(state.appliance_netns),
        "prefixes_per_member": state.prefixes_per_member,
        "members": members,
    }
