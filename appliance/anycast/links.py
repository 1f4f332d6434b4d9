"""The interfaces behind anycast: the service-address interface and one gate per prefix.

``plan_links``/``apply_links`` reconcile them to the configuration (idempotent: a second apply
writes nothing). A gate is created *down* and its admin state is never changed here: that
state is the announcement, and it belongs to the anycast helper (``set_gate``).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from appliance.anycast.names import GATE_PREFIX, SERVICE_IFNAME, gate_ifname
from appliance.platform.rtnl import open_rtnl
from appliance.platform.target import Target

# pyroute2 and the model only where the pipeline reconciles: the resident anycast helper
# flips its gates through the small netlink client (issue 14: the 1 GB box).
if TYPE_CHECKING:
    from appliance.config.model import IXPConfig

IFF_UP = 0x1


@dataclass(frozen=True)
class LinkOp:
    """One netlink write."""

    action: Literal["add", "remove"]
    kind: Literal["service", "address", "gate"]
    target: str  # interface name, or an address with its length

    def __str__(self) -> str:
        return f"{self.action} {self.kind} {self.target}"


def service_addresses(cfg: IXPConfig) -> frozenset[str]:
    """Resolver addresses inside an anycast prefix, as host routes (``a/32``, ``a/128``)."""
    res = cfg.services.resolver
    if not res.enabled:
        return frozenset()
    prefixes = [a.prefix for a in cfg.services.anycast]
    return frozenset(f"{addr}/{addr.max_prefixlen}" for addr in (*res.ipv4, *res.ipv6)
                     if any(addr.version == p.version and addr in p for p in prefixes))


def wanted_gates(cfg: IXPConfig) -> frozenset[str]:
    """One gate per anycast prefix while the resolver (the service behind them) is on."""
    if not cfg.services.resolver.enabled:
        return frozenset()
    return frozenset(gate_ifname(str(a.prefix)) for a in cfg.services.anycast)


def _names(ipr: Any) -> dict[str, int]:
    return {link.get_attr("IFLA_IFNAME"): link["index"] for link in ipr.get_links()}


def _addresses(ipr: Any, index: int) -> set[str]:
    out = set()
    for msg in ipr.get_addr(index=index):
        addr = ipaddress.ip_address(msg.get_attr("IFA_ADDRESS"))
        if addr.is_link_local:
            continue  # the kernel's own IPv6 link-local address
        out.add(f"{addr}/{msg['prefixlen']}")
    return out


def _plan(ipr: Any, cfg: IXPConfig) -> list[LinkOp]:
    names = _names(ipr)
    addrs = service_addresses(cfg)
    ops: list[LinkOp] = []
    if addrs:
        have = set()
        if SERVICE_IFNAME in names:
            have = _addresses(ipr, names[SERVICE_IFNAME])
        else:
            ops.append(LinkOp("add", "service", SERVICE_IFNAME))
        ops += [LinkOp("add", "address", a) for a in sorted(addrs - have)]
        ops += [LinkOp("remove", "address", a) for a in sorted(have - addrs)]
    elif SERVICE_IFNAME in names:
        ops.append(LinkOp("remove", "service", SERVICE_IFNAME))
    gates = wanted_gates(cfg)
    present = {n for n in names if n.startswith(GATE_PREFIX)}
    ops += [LinkOp("add", "gate", g) for g in sorted(gates - present)]
    ops += [LinkOp("remove", "gate", g) for g in sorted(present - gates)]
    return ops


def plan_links(cfg: IXPConfig, target: Target) -> list[LinkOp]:
    """The writes ``apply_links`` would make now (reads only)."""
    from appliance.platform.netlink import open_netlink

    with open_netlink(target.netns) as ipr:
        return _plan(ipr, cfg)


def apply_links(cfg: IXPConfig, target: Target) -> list[LinkOp]:
    """Reconcile the service interface and the gates; returns the writes made."""
    from appliance.platform.netlink import open_netlink

    with open_netlink(target.netns) as ipr:
        ops = _plan(ipr, cfg)
        for op in ops:
            _write(ipr, op)
        return ops


def _write(ipr: Any, op: LinkOp) -> None:
    # An empty bridge: every kernel has it (this lab's has no dummy driver) and it is "up with
    # carrier" as soon as it is set up, which is all BIRD looks at.
    if op.kind in ("service", "gate") and op.action == "add":
        state = "up" if op.kind == "service" else "down"
        ipr.link("add", ifname=op.target, kind="bridge", state=state)
    elif op.kind in ("service", "gate"):
        ipr.link("del", index=ipr.link_lookup(ifname=op.target)[0])
    else:
        iface = ipaddress.ip_interface(op.target)
        index = ipr.link_lookup(ifname=SERVICE_IFNAME)[0]
        kwargs = {"index": index, "address": str(iface.ip), "prefixlen": iface.network.prefixlen}
        if op.action == "add":
            from appliance.platform.netlink import IFA_F_NODAD
            ipr.addr("add", flags=IFA_F_NODAD, **kwargs)  # unbound binds to it at once
        else:
            ipr.addr("del", **kwargs)


def set_gate(target: Target, prefix: str, up: bool) -> None:
    """Announce (up) or withdraw (down) ``prefix``; raises if its gate does not exist."""
    name = gate_ifname(prefix)
    with open_rtnl(target.netns) as rtnl:
        try:
            rtnl.set_up(name, up)
        except FileNotFoundError:
            raise RuntimeError(f"gate interface {name} of {prefix} is missing; apply the "
                               "configuration again ('ixpctl apply')") from None


def gate_is_up(target: Target, prefix: str) -> bool | None:
    """Whether ``prefix`` is being announced (None: no gate, so not announced)."""
    with open_rtnl(target.netns) as rtnl:
        link = rtnl.link(gate_ifname(prefix))
    return None if link is None else bool(link.flags & IFF_UP)
