"""The lab harness of the tests and the benchmarks (FRR topotests style): a node is a
namespace with its own BIRD and control socket. One RS namespace with a plain Linux bridge,
member namespaces joined to it by veth pairs, all removed on close.

Nothing is created in the root namespace: each veth pair is made inside a member namespace
with its peer end placed straight into the RS namespace.
"""

from __future__ import annotations

import ipaddress
import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from appliance.lab.lab import LabError
from appliance.platform import netns
from appliance.platform.bird.control import BirdControl
from appliance.platform.target import Target
from appliance.route_server.daemon import spawn_bird, stop_bird

BRIDGE = "br0"


def wait_for(what: str, probe: Callable[[], object], timeout: float = 60,
             poll: float = 0.25) -> object:
    """Poll ``probe`` until it returns something truthy; fail with ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(poll)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


@dataclass
class Node:
    """A namespace with (optionally) a BIRD of its own."""

    ns: str
    dir: Path
    pid: int | None = None

    @property
    def ctl(self) -> Path:
        """This node's BIRD control socket."""
        return self.dir / "bird.ctl"

    def control(self) -> BirdControl:
        """A new control connection to this node's BIRD."""
        return BirdControl(self.ctl, timeout=30)


@dataclass
class NetLab:
    """What the lab made, so that ``close`` removes exactly that."""

    prefix: str
    root: Path
    rs: Node | None = None
    members: dict[str, Node] = field(default_factory=dict)
    pids: list[int] = field(default_factory=list)
    namespaces: list[str] = field(default_factory=list)
    extra_procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def _ns(self, suffix: str) -> Node:
        name = f"{self.prefix}-{suffix}"
        self.namespaces.append(name)  # recorded first: removed even if create fails half-way
        netns.create(name)
        d = self.root / suffix
        d.mkdir(parents=True, exist_ok=True)
        return Node(name, d)

    def make_rs(self, addr4: str, addr6: str, lan4: int, lan6: int) -> Node:
        """The route-server namespace with the peering bridge holding the RS addresses."""
        self.rs = self._ns("rs")
        ns = self.rs.ns
        netns.run(ns, ["ip", "link", "add", BRIDGE, "type", "bridge"])
        netns.run(ns, ["ip", "addr", "add", f"{addr4}/{lan4}", "dev", BRIDGE])
        netns.run(ns, ["ip", "addr", "add", f"{addr6}/{lan6}", "dev", BRIDGE, "nodad"])
        netns.run(ns, ["ip", "link", "set", BRIDGE, "up"])
        return self.rs

    def add_member(self, key: str, addrs4: list[str], addrs6: list[str], lan4: int,
                   lan6: int, port: str | None = None) -> Node:
        """A member namespace with eth0 on the bridge (its bridge port named ``port``,
        default ``p-<key>``) and the given LAN addresses."""
        assert self.rs is not None
        node = self._ns(key)
        port = port or f"p-{key}"
        netns.run(node.ns, ["ip", "link", "add", "eth0", "type", "veth", "peer", "name", port,
                            "netns", self.rs.ns])
        netns.run(self.rs.ns, ["ip", "link", "set", port, "master", BRIDGE])
        netns.run(self.rs.ns, ["ip", "link", "set", port, "up"])
        for a in addrs4:
            netns.run(node.ns, ["ip", "addr", "add", f"{a}/{lan4}", "dev", "eth0"])
        for a in addrs6:
            netns.run(node.ns, ["ip", "addr", "add", f"{a}/{lan6}", "dev", "eth0", "nodad"])
        netns.run(node.ns, ["ip", "link", "set", "eth0", "up"])
        self.members[key] = node
        return node

    def start_bird(self, node: Node, conf_text: str) -> int:
        """Write ``conf_text`` and start a BIRD on it inside ``node``'s namespace."""
        conf = node.dir / "bird.conf"
        conf.write_text(conf_text)
        pid = spawn_bird(conf, node.ctl, node.dir / "bird.pid", target=Target(node.dir, node.ns),
                         log=node.dir / "bird.log")
        node.pid = pid
        self.pids.append(pid)
        return pid

    def close(self) -> None:
        """Stop every process we started (by PID) and remove every namespace we made."""
        for pid in reversed(self.pids):
            stop_bird(pid)
        for proc in self.extra_procs:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        for name in reversed(self.namespaces):
            netns.remove(name)
        for name in netns.list_with_prefix(self.prefix):
            netns.remove(name)


def open_lab(root: Path, base: str = "ixb") -> NetLab:
    """A new, empty lab with a unique namespace prefix; fails plainly when not root."""
    if os.geteuid() != 0:
        raise LabError("the lab creates network namespaces and must run as root (sudo)")
    return NetLab(netns.unique_prefix(base), root)


def lan_lengths(lan4: ipaddress.IPv4Network, lan6: ipaddress.IPv6Network) -> tuple[int, int]:
    """Prefix lengths of the peering LAN."""
    return lan4.prefixlen, lan6.prefixlen
