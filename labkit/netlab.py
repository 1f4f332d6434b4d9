"""The lab harness of the tests and the benchmarks (FRR topotests style): a node is a
namespace with its own daemon and control socket.

A ``NetLab`` has one unique namespace prefix and records everything it makes before making it;
``close`` (or leaving ``session``) stops every process it started, by PID, runs the clean-ups
registered with ``on_close`` and removes every namespace with its prefix, even when a step of
the test or of the teardown itself failed. What it builds:

- bare namespaces (``namespace``, with or without IPv6) and hosts wired to a port of another
  namespace by a veth pair (``add_host``: a member router's ``eth0`` on the appliance's port
  ``ixp1``), or a pair inside one namespace (``veth``: a port with nobody behind it);
- the route-server shape the BGP tests use: one RS namespace with a plain Linux bridge
  (``make_rs``) and member namespaces on it (``add_member``), each with a BIRD of its own
  (``start_bird``), or any other daemon (``spawn``);
- the demo's lab of a configuration (``config_lab``: appliance.lab, one member router per
  member) under the same prefix and the same teardown, or with the configuration applied
  into it, as ``ixpctl lab up`` does (``applied_lab``).

Nothing is created in the root namespace: each veth pair is made inside a namespace with its
peer end placed straight into the other one.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from appliance.config.model import IXPConfig
from appliance.lab.lab import LabError, LabState, lab_down, lab_up
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
class Host:
    """A namespace wired to a port of another namespace: ``ifname`` on its side, ``port`` on
    the other, with a MAC and addresses (with their prefix lengths) on ``ifname``."""

    ns: str
    port: str
    mac: str | None = None
    addrs: tuple[str, ...] = ()
    ifname: str = "eth0"

    @property
    def ipv4(self) -> str:
        """The host's first IPv4 address, without its prefix length."""
        return next(a.split("/")[0] for a in self.addrs if ":" not in a)

    @property
    def ipv6(self) -> str:
        """The host's first IPv6 address, without its prefix length."""
        return next(a.split("/")[0] for a in self.addrs if ":" in a)


def sh(ns: str, *argv: str, check: bool = True) -> str:
    """Run a command inside namespace ``ns``; its stdout."""
    return netns.run(ns, list(argv), check=check).stdout


def quiet_ipv6(ns: str) -> None:
    """No DAD and no router solicitations from links made later in ``ns``: addresses are
    usable at once, and the namespace carries no frames or netlink events the test did not
    cause."""
    for conf in ("all", "default"):
        sh(ns, "sysctl", "-qw", f"net.ipv6.conf.{conf}.accept_dad=0",
           f"net.ipv6.conf.{conf}.router_solicitations=0")


def no_ipv6(ns: str) -> None:
    """No IPv6 at all in ``ns`` (links made later included): no router solicitations or MLD
    reports move the counters a test compares."""
    sh(ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
       "net.ipv6.conf.default.disable_ipv6=1")


def veth(ns: str, name: str, peer: str, *, up: bool = True) -> None:
    """A veth pair with both ends in ``ns`` (a port whose far end no host uses); up."""
    sh(ns, "ip", "link", "add", name, "type", "veth", "peer", "name", peer)
    if up:
        for dev in (name, peer):
            sh(ns, "ip", "link", "set", dev, "up")


def add_addresses(ns: str, dev: str, addrs: Iterable[str]) -> None:
    """Put ``addrs`` (with prefix lengths) on ``dev`` in ``ns``; IPv6 ones without DAD."""
    for a in addrs:
        sh(ns, "ip", "addr", "add", a, "dev", dev, *(["nodad"] if ":" in a else []))


@dataclass
class NetLab:
    """What the lab made, so that ``close`` removes exactly that."""

    prefix: str
    root: Path
    rs: Node | None = None
    members: dict[str, Node] = field(default_factory=dict)
    pids: list[int] = field(default_factory=list)
    namespaces: list[str] = field(default_factory=list)
    extra_procs: list[subprocess.Popen] = field(default_factory=list)
    cleanups: list[Callable[[], object]] = field(default_factory=list)

    def _ns(self, suffix: str) -> Node:
        name = self.namespace(suffix)
        d = self.root / suffix
        d.mkdir(parents=True, exist_ok=True)
        return Node(name, d)

    def namespace(self, suffix: str, *, quiet: bool = False, ipv6: bool = True) -> str:
        """A new namespace ``<prefix>-<suffix>``; ``quiet``: without DAD and router
        solicitations (``quiet_ipv6``); not ``ipv6``: without IPv6 at all (``no_ipv6``)."""
        name = f"{self.prefix}-{suffix}"
        self.namespaces.append(name)  # recorded first: removed even if create fails half-way
        netns.create(name)
        if quiet:
            quiet_ipv6(name)
        if not ipv6:
            no_ipv6(name)
        return name

    def add_host(self, suffix: str, *, into: str, port: str, mac: str | None = None,
                 addrs: Iterable[str] = (), bridge: str | None = None,
                 ifname: str = "eth0", ipv6: bool = True) -> Host:
        """A quiet namespace ``<prefix>-<suffix>`` wired to namespace ``into``: a veth pair
        with ``port`` in ``into`` and ``ifname`` (up, with ``mac`` and ``addrs``) here.
        With ``bridge`` the port is enslaved to that bridge of ``into`` and set up; else the
        port is left down, for the code under test to reconcile. Not ``ipv6``: the host has
        no IPv6 (``no_ipv6``)."""
        ns = self.namespace(suffix, quiet=ipv6, ipv6=ipv6)
        sh(into, "ip", "link", "add", port, "type", "veth", "peer", "name", ifname,
           "netns", ns)
        if bridge:
            sh(into, "ip", "link", "set", port, "master", bridge, "up")
        if mac:
            sh(ns, "ip", "link", "set", ifname, "address", mac)
        host = Host(ns, port, mac, tuple(addrs), ifname)
        add_addresses(ns, ifname, host.addrs)
        sh(ns, "ip", "link", "set", ifname, "up")
        return host

    def spawn(self, ns: str, argv: list[str], **popen: object) -> subprocess.Popen:
        """Start ``argv`` inside ``ns`` (``ip netns exec`` execs it: the PID is the
        program's); it is ended, by PID, when the lab closes."""
        proc = subprocess.Popen(netns.command(ns, argv), **popen)  # type: ignore[call-overload]
        self.extra_procs.append(proc)
        return proc

    def on_close(self, cleanup: Callable[[], object]) -> None:
        """Run ``cleanup`` when the lab closes, before its processes are stopped and its
        namespaces removed (the last registered runs first)."""
        self.cleanups.append(cleanup)

    def config_lab(self, cfg: IXPConfig, state_dir: Path, *,
                   prefixes_per_member: int = 1) -> LabState:
        """The demo's lab of ``cfg`` in ``state_dir`` (appliance.lab: the appliance namespace
        ``<prefix>-ixp`` and a member router with its BIRD per member), under this lab's
        prefix; brought down (``lab_down``) when the lab closes."""
        self.on_close(lambda: lab_down(state_dir))
        return lab_up(cfg, state_dir, prefixes_per_member=prefixes_per_member,
                      prefix=self.prefix)

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
        pid = spawn_bird(conf, node.ctl, node.dir / "bird.pid",
                         target=Target(node.dir, node.ns), log=node.dir / "bird.log")
        node.pid = pid
        self.pids.append(pid)
        return pid

    def close(self) -> None:
        """Run the clean-ups, stop every process we started (by PID) and remove every
        namespace we made. Every step runs even when an earlier one fails; the first
        failure is raised at the end."""
        steps: list[Callable[[], object]] = list(reversed(self.cleanups))
        steps += [lambda pid=pid: stop_bird(pid) for pid in reversed(self.pids)]
        steps += [lambda proc=proc: end_process(proc) for proc in self.extra_procs]
        steps += [lambda name=name: netns.remove(name) for name in reversed(self.namespaces)]
        steps.append(lambda: [netns.remove(n) for n in netns.list_with_prefix(self.prefix)])
        self.cleanups, self.pids, self.extra_procs = [], [], []
        failed: BaseException | None = None
        for step in steps:
            try:
                step()
            except Exception as exc:  # the rest of the teardown must still run
                traceback.print_exc(file=sys.stderr)
                failed = failed or exc
        if failed is not None:
            raise failed


def end_process(proc: subprocess.Popen) -> None:
    """Stop a process we started, by its PID: SIGTERM, then SIGKILL after 10 s."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def open_lab(root: Path, base: str = "ixb") -> NetLab:
    """A new, empty lab with a unique namespace prefix; fails plainly when not root."""
    if os.geteuid() != 0:
        raise LabError("the lab creates network namespaces and must run as root (sudo)")
    return NetLab(netns.unique_prefix(base), root)


@contextlib.contextmanager
def session(root: Path, base: str = "ixb") -> Iterator[NetLab]:
    """A new lab (``open_lab``) that is closed when the block ends, however it ends."""
    lab = open_lab(root, base)
    try:
        yield lab
    finally:
        lab.close()


@contextlib.contextmanager
def applied_lab(state_dir: Path, text: str, base: str = "ixt", *, author: str = "t",
                prefixes_per_member: int = 1) -> Iterator[LabState]:
    """What ``ixpctl lab up`` makes: the demo's lab of the configuration ``text``
    (``config_lab``) with ``text`` applied into it by the box's whole pipeline (which starts
    the daemons it asks for); the lab's state. Everything removed when the block ends."""
    from appliance.box import build_pipeline  # the whole box: only for the labs that apply it
    from appliance.config.loader import load_config_text

    with session(state_dir / "netlab", base) as net:
        state = net.config_lab(load_config_text(text), state_dir,
                               prefixes_per_member=prefixes_per_member)
        out = build_pipeline(Target(state_dir, state.appliance_netns)).run(text, author=author)
        if not out.ok:
            raise LabError(f"the configuration could not be applied into the lab: {out.error}")
        yield state


def lan_lengths(lan4: ipaddress.IPv4Network, lan6: ipaddress.IPv6Network) -> tuple[int, int]:
    """Prefix lengths of the peering LAN."""
    return lan4.prefixlen, lan6.prefixlen
