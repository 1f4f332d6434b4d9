"""The anycast lab: the demo's lab with real unbound, the real route-server BIRD and a BIRD per
member, the resolver's service prefix announced through the anycast helper (started by the
apply, as in any lab). Shared by the
anycast and alert tests and bench/anycast_failover.py.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import yaml

from appliance.anycast.concern import AnycastConcern
from appliance.bridge.concern import BridgeConcern
from appliance.config.loader import load_config_text
from appliance.lab.lab import LabState
from appliance.pipeline.core import CoreConcern
from appliance.pipeline.run import Pipeline
from appliance.platform.bird.control import BirdControl
from appliance.platform.target import Target
from appliance.resolver.concern import ResolverConcern, stop_resolver
from appliance.route_server.concern import RouteServerConcern
from appliance.route_server.service import RouteServerService
from labkit import netlab
from labkit.resolver import example_data, fixture_options

PREFIX = "192.0.2.0/24"
SERVICE = "192.0.2.53"
INTERVAL, RISE, FALL = 2, 2, 2
SLACK = 20  # the machine is shared; the order of events is what is checked


def anycast_data() -> dict:
    """The example with the resolver's anycast prefix and its health check."""
    data = example_data()
    data["services"]["resolver"]["ipv4"].append(SERVICE)
    data["services"]["anycast"] = [{"prefix": PREFIX, "check": {
        "interval": INTERVAL, "timeout": 1, "rise": RISE, "fall": FALL}}]
    return data


class AnycastLab:
    """The lab with the route server and the resolver applied from one pipeline."""

    def __init__(self, state: LabState, state_dir: Path, data: dict) -> None:
        self.state, self.state_dir, self.data = state, state_dir, data
        self.cfg = load_config_text(yaml.safe_dump(data))
        self.resolver = ResolverConcern(fixture_options())

    def pipeline(self) -> Pipeline:
        """The pipeline of this lab: core, bridge, anycast, route server, resolver."""
        return Pipeline(Target(self.state_dir, self.state.appliance_netns), concerns=[
            CoreConcern(), BridgeConcern(), AnycastConcern(),
            RouteServerConcern.from_state(self.state_dir), self.resolver])

    def apply(self, data: dict) -> None:
        """Apply changed config data; it must succeed."""
        out = self.pipeline().run(yaml.safe_dump(data), author="test")
        assert out.ok, out.error
        self.data, self.cfg = data, load_config_text(yaml.safe_dump(data))

    def rs(self) -> BirdControl:
        """A control connection to the route server's BIRD."""
        return BirdControl(Target(self.state_dir).bird_socket)

    def members_with_route(self) -> set[str]:
        """Member namespaces whose BIRD holds the service prefix from the route server."""
        have = set()
        for lm in self.state.members:
            with BirdControl(lm.socket) as bc:
                if any(r.prefix == PREFIX for r in bc.routes(table="master4")):
                    have.add(lm.netns)
        return have

    def bgp_count(self) -> int:
        """How many member sessions the route server has, up or not."""
        with self.rs() as bc:
            return sum(1 for p in bc.protocols() if p.proto == "BGP")

    def member_sessions(self) -> dict[str, str]:
        """Each member session's ``since`` on the route server (a reset changes it)."""
        with self.rs() as bc:
            return {p.name: p.since for p in bc.protocols()
                    if p.proto == "BGP" and p.established}


@contextlib.contextmanager
def anycast_lab(tmp_path: Path) -> Iterator[AnycastLab]:
    """The demo's lab of ``anycast_data`` with the route server running and the resolver
    applied; the apply started the anycast helper (``ixpctl run anycast`` in the lab's
    namespace). Removed when the block ends (``lab_down`` stops the helper first)."""
    data = anycast_data()
    cfg = load_config_text(yaml.safe_dump(data))
    with netlab.session(tmp_path / "netlab", "ixt") as net:
        state = net.config_lab(cfg, tmp_path)
        net.on_close(lambda: stop_resolver(tmp_path))
        lab = AnycastLab(state, tmp_path, data)
        rs = RouteServerService(Target(tmp_path, state.appliance_netns))
        net.on_close(rs.stop)
        lab.apply(data)
        rs.start()
        yield lab
