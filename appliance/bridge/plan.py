"""The difference between the wanted and the running peering LAN, as operations (pure).

Each ``Op`` is one netlink write. An empty plan means the running bridge already matches, so
applying it again writes nothing. Problems that would make the plan unsafe (a member port that
does not exist, a port owned by another bridge) raise ``PlanError`` before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

from appliance.bridge.desired import BLACKHOLE_PORT, IFNAMSIZ, PORT_FLAGS, Desired
from appliance.bridge.netlink_state import Current

Action = Literal["add", "change", "remove"]
# A trunk NIC's IPv4 arp_ignore: answer ARP only for addresses on the NIC itself (see below).
TRUNK_ARP_IGNORE = 1


class PlanError(ValueError):
    """The running system cannot be brought to the configuration safely; nothing was changed."""


@dataclass(frozen=True)
class Op:
    """One netlink write: what, on which object, with which parameters."""

    action: Action
    kind: str  # bridge, blackhole, trunk, vlan, port, brport, fdb, neigh, address
    target: str  # human-readable object, e.g. "port ixp1"
    detail: str = ""
    params: tuple[tuple[str, Any], ...] = ()

    def param(self, key: str) -> Any:
        """One parameter's value."""
        return dict(self.params)[key]

    def __str__(self) -> str:
        sign = {"add": "+", "change": "~", "remove": "-"}[self.action]
        return f"{sign} {self.target}" + (f" ({self.detail})" if self.detail else "")


def _diff(want: dict[str, Any], have: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in want.items() if have.get(k) != v}


def _fmt(values: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(values.items()))


def check_ports(desired: Desired, current: Current, where: str) -> None:
    """Raise ``PlanError`` listing every member port that cannot be used as it is."""
    problems: list[str] = [
        f"{p.field}: {p.ifname} is longer than {IFNAMSIZ} characters" for p in desired.ports
        if len(p.ifname) > IFNAMSIZ
    ]
    bridge = desired.bridge.name
    existing = current.links.get(bridge)
    if existing is not None and existing.kind != "bridge":
        problems.append(f"peering_lan.bridge: {bridge} exists in {where} but is not a bridge "
                        f"(it is a {existing.kind or 'physical'} device); choose another name")
    by_index = {x.index: x for x in current.links.values()}
    trunks = {p.parent for p in desired.ports if p.parent}
    for p in desired.ports:
        if p.parent is None and p.ifname in trunks:
            problems.append(f"{p.field}: {p.ifname} carries members' VLANs, so it cannot "
                            "also be an untagged member port; give this member a VLAN too")
        nic = p.parent or p.ifname
        link = current.links.get(p.ifname)
        if p.ifname == BLACKHOLE_PORT and desired.blackhole is not None:
            continue  # ours: made by the blackhole step of the plan
        if nic not in current.links:
            problems.append(f"{p.field}: interface {nic} does not exist in {where} "
                            f"(port of {p.member}); check the NIC name with the port inventory")
            continue
        trunk = by_index.get(link.parent or -1) if link is not None else None
        if p.parent is not None and link is not None and (
            link.kind != "vlan" or link.vid != p.vid or trunk is None or trunk.name != p.parent
        ):
            problems.append(f"{p.field}: {p.ifname} exists in {where} but is not VLAN {p.vid} "
                            f"on {p.parent}; remove or rename it")
            continue
        if link is None:
            continue
        if link.kind == "bridge":
            problems.append(f"{p.field}: {p.ifname} is a bridge, not a NIC; give the member's NIC")
        elif link.master is not None and (
            current.bridge is None or link.master != current.bridge.index
        ):
            owner = by_index.get(link.master)
            problems.append(f"{p.field}: {p.ifname} already belongs to "
                            f"{owner.name if owner else link.master}; release it first")
    if problems:
        raise PlanError("; ".join(problems))


def _bridge_ops(desired: Desired, current: Current) -> list[Op]:
    spec = desired.bridge
    attrs = dict(spec.attrs)
    br = current.bridge
    if br is None:
        params = {"ifname": spec.name, "mtu": spec.mtu, "address": spec.address, **attrs}
        return [Op("add", "bridge", f"bridge {spec.name}", _fmt({"mtu": spec.mtu, **attrs}),
                   tuple(sorted(params.items())))]
    ops = []
    changes = _diff({"mtu": spec.mtu, **attrs}, {"mtu": br.mtu, **br.bridge_attrs})
    if changes:
        ops.append(Op("change", "bridge", f"bridge {spec.name}", _fmt(changes),
                      tuple(sorted({"ifname": spec.name, **changes}.items()))))
    if not br.up:
        ops.append(Op("change", "bridge", f"bridge {spec.name}", "state=up",
                      (("ifname", spec.name), ("state", "up"))))
    return ops


def _blackhole_ops(desired: Desired, current: Current) -> list[Op]:
    """Make, remake (its MAC or address changed) or remove the blackhole port."""
    link = current.links.get(BLACKHOLE_PORT)
    want = desired.blackhole
    ops: list[Op] = []
    if link is not None and (want is None or link.alias != want.signature):
        ops.append(Op("remove", "blackhole", f"blackhole port {BLACKHOLE_PORT}",
                      link.alias or "", (("ifname", BLACKHOLE_PORT),)))
    if want is not None and (link is None or link.alias != want.signature):
        ops.append(Op("add", "blackhole", f"blackhole port {BLACKHOLE_PORT}",
                      f"MAC {want.mac}" + (f", answers for {want.ipv6}" if want.ipv6 else ""),
                      (("ifname", BLACKHOLE_PORT), ("mac", want.mac), ("ipv6", want.ipv6),
                       ("alias", want.signature))))
    return ops


def _port_ops(desired: Desired, current: Current) -> list[Op]:
    ops: list[Op] = []
    bridge = desired.bridge.name
    br_index = current.bridge.index if current.bridge else None
    wanted = {p.ifname for p in desired.ports}
    remade = {BLACKHOLE_PORT} if any(op.kind == "blackhole" for op in
                                     _blackhole_ops(desired, current)) else set()
    for name in sorted(current.ports_of_bridge()):
        if name not in wanted and name not in remade:  # a remade blackhole goes with its op
            ops.append(Op("remove", "port", f"port {name}", f"released from {bridge}",
                          (("ifname", name),)))
    # A trunk is no bridge port, but its VLAN ports carry nothing while it is down, and
    # none can be larger than it (a NIC nobody configured comes up down, at 1500). Untagged
    # frames on it reach the box's own stack: arp_ignore=1 answers ARP there only for the
    # trunk's own addresses (it has none), not for the peering LAN's (the kernel's default
    # answers for every address of the box, on any NIC).
    for trunk in sorted({p.parent for p in desired.ports if p.parent}):
        nic = current.links.get(trunk)
        if nic is None:
            continue  # check_ports refused the plan
        changes = _diff({"up": True}, {"up": nic.up})
        if nic.arp_ignore is not None and nic.arp_ignore != TRUNK_ARP_IGNORE:
            changes["arp_ignore"] = TRUNK_ARP_IGNORE
        if nic.mtu < desired.bridge.mtu:
            changes["mtu"] = desired.bridge.mtu
        if changes:
            ops.append(Op("change", "trunk", f"trunk {trunk}", _fmt(changes),
                          tuple(sorted({"ifname": trunk, **changes}.items()))))
    for p in desired.ports:
        link = None if p.ifname in remade else current.links.get(p.ifname)
        if link is None and p.ifname == BLACKHOLE_PORT:
            pass  # made just before by the blackhole step
        elif link is None:  # only VLAN ports may be missing: check_ports refused the rest
            ops.append(Op("add", "vlan", f"vlan {p.ifname}", f"VLAN {p.vid} on {p.parent}",
                          (("ifname", p.ifname), ("parent", p.parent), ("vid", p.vid))))
        enslaved = link is not None and br_index is not None and link.master == br_index
        have = {"mtu": link.mtu, "up": link.up} if link else {}
        if enslaved:
            have["master"] = bridge
        changes = _diff({"master": bridge, "mtu": desired.bridge.mtu, "up": True}, have)
        if changes:
            ops.append(Op("change" if link else "add", "port", f"port {p.ifname}",
                          f"{p.member}: {_fmt(changes)}",
                          tuple(sorted({"ifname": p.ifname, **changes}.items()))))
        flags = _diff(PORT_FLAGS, link.brport if enslaved and link else {})
        if flags:
            ops.append(Op("change", "brport", f"port {p.ifname} flags", _fmt(flags),
                          tuple(sorted({"ifname": p.ifname, **flags}.items()))))
    return ops


def _entry_ops(desired: Desired, current: Current) -> list[Op]:
    ops: list[Op] = []
    wanted_ports = {p.ifname for p in desired.ports}
    if any(op.kind == "blackhole" for op in _blackhole_ops(desired, current)):
        # a remade blackhole port comes without its FDB entry
        current = replace(current, fdb={e for e in current.fdb if e[0] != BLACKHOLE_PORT})
    for port, mac in sorted(current.fdb - desired.fdb):
        if port in wanted_ports:  # a released port loses its FDB entries with it
            ops.append(Op("remove", "fdb", f"fdb {mac} on {port}", "",
                          (("ifname", port), ("mac", mac))))
    for port, mac in sorted(desired.fdb - current.fdb):
        ops.append(Op("add", "fdb", f"fdb {mac} on {port}", "static",
                      (("ifname", port), ("mac", mac))))
    bridge = desired.bridge.name
    for ip in sorted(set(current.neigh) - set(desired.neigh)):
        ops.append(Op("remove", "neigh", f"neighbour {ip}", current.neigh[ip],
                      (("bridge", bridge), ("ip", ip))))
    for ip, mac in sorted(desired.neigh.items()):
        if current.neigh.get(ip) != mac:
            action: Action = "change" if ip in current.neigh else "add"
            ops.append(Op(action, "neigh", f"neighbour {ip}", f"lladdr {mac} permanent",
                          (("bridge", bridge), ("ip", ip), ("mac", mac))))
    for addr in sorted(current.addresses - desired.addresses):
        ops.append(Op("remove", "address", f"address {addr} on {bridge}", "",
                      (("bridge", bridge), ("address", addr))))
    for addr in sorted(desired.addresses - current.addresses):
        ops.append(Op("add", "address", f"address {addr} on {bridge}", "",
                      (("bridge", bridge), ("address", addr))))
    return ops


def make_plan(desired: Desired, current: Current, where: str = "this namespace") -> list[Op]:
    """The writes that take ``current`` to ``desired``, in a safe order; empty when equal."""
    check_ports(desired, current, where)
    return [*_bridge_ops(desired, current), *_blackhole_ops(desired, current),
            *_port_ops(desired, current), *_entry_ops(desired, current)]
