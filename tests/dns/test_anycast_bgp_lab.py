"""The anycast helper end to end: real unbound, real route-server BIRD, real member BIRDs.

The resolver's service prefix reaches every member only while unbound answers; stopping
unbound withdraws it within fall × interval, starting it announces it again within
rise × interval, and neither touches the members' sessions. A configuration change that
reconfigures BIRD must not withdraw it either.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from appliance.anycast.concern import AnycastConcern
from appliance.anycast.links import gate_is_up
from appliance.anycast.names import SERVICE_IFNAME, protocol_name
from appliance.anycast.service import AnycastService
from appliance.anycast.status import read_status
from appliance.bridge.concern import BridgeConcern
from appliance.config.loader import load_config_text
from appliance.lab.lab import LabState, lab_down, lab_up
from appliance.lab.netlab import wait_for
from appliance.pipeline.concern import ApplyContext
from appliance.pipeline.core import CoreConcern
from appliance.pipeline.run import Pipeline
from appliance.platform import netns
from appliance.platform.bird.control import BirdControl
from appliance.platform.target import Target
from appliance.resolver.concern import ResolverConcern, stop_resolver
from appliance.route_server.concern import RouteServerConcern
from appliance.route_server.service import RouteServerService
from tests.dns.lab import dig, status_of
from tests.dns.variants import example_data, fixture_options

PREFIX = "192.0.2.0/24"
SERVICE = "192.0.2.53"
INTERVAL, RISE, FALL = 2, 2, 2
SLACK = 20  # the machine is shared; the order of events is what is checked


def anycast_data() -> dict:
    data = example_data()
    data["services"]["resolver"]["ipv4"].append(SERVICE)
    data["services"]["anycast"] = [{"prefix": PREFIX, "check": {
        "interval": INTERVAL, "timeout": 1, "rise": RISE, "fall": FALL}}]
    return data


class Lab:
    """The lab with the route server and the resolver applied from one pipeline."""

    def __init__(self, state: LabState, state_dir: Path, data: dict) -> None:
        self.state, self.state_dir, self.data = state, state_dir, data
        self.cfg = load_config_text(yaml.safe_dump(data))
        self.resolver = ResolverConcern(fixture_options())

    def pipeline(self) -> Pipeline:
        return Pipeline(Target(self.state_dir, self.state.appliance_netns), concerns=[
            CoreConcern(), BridgeConcern(), AnycastConcern(),
            RouteServerConcern.from_state(self.state_dir), self.resolver])

    def apply(self, data: dict) -> None:
        out = self.pipeline().run(yaml.safe_dump(data), author="test")
        assert out.ok, out.error
        self.data, self.cfg = data, load_config_text(yaml.safe_dump(data))

    def rs(self) -> BirdControl:
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
def anycast_lab(tmp_path: Path) -> Iterator[Lab]:
    data = anycast_data()
    cfg = load_config_text(yaml.safe_dump(data))
    prefix = netns.unique_prefix("ixt")
    state = lab_up(cfg, tmp_path, prefixes_per_member=1, prefix=prefix)
    lab = Lab(state, tmp_path, data)
    rs = RouteServerService(Target(tmp_path, state.appliance_netns))
    try:
        lab.apply(data)
        rs.start()
        yield lab
    finally:
        rs.stop()
        stop_resolver(tmp_path)
        lab_down(tmp_path)
        for name in netns.list_with_prefix(prefix):
            netns.remove(name)


@pytest.mark.netns
def test_service_prefix_follows_the_resolver_health(root_required, tool, tmp_path):
    tool("unbound", "unbound")
    tool("dig", "bind9-dnsutils")
    with anycast_lab(tmp_path) as lab:
        ns = lab.state.appliance_netns
        every = {lm.netns for lm in lab.state.members}
        # Applied but not yet vouched for: the gate is down and no member has the prefix.
        assert gate_is_up(Target(tmp_path, ns), PREFIX) is False
        with lab.rs() as bc:
            assert bc.protocol(protocol_name(PREFIX)).state == "up"
            assert bc.routes(protocol=protocol_name(PREFIX)) == []
        wait_for("every member session", lambda: len(lab.member_sessions()) == lab.bgp_count(),
                 90)
        sessions = lab.member_sessions()

        svc = AnycastService(Target(tmp_path, ns), poll=0.5)
        svc.start()
        try:
            wait_for("the announcement at every member",
                     lambda: lab.members_with_route() == every, RISE * INTERVAL + SLACK)
            with BirdControl(lab.state.members[0].socket) as bc:
                [route] = [r for r in bc.routes(table="master4") if r.prefix == PREFIX]
            # Originated by the route server: its ASN alone, its LAN address as next hop.
            assert route.as_path == (lab.cfg.route_server.asn,)
            assert route.next_hop == str(lab.cfg.route_server.ipv4)

            # A member reaches the resolver on the service address through the route server.
            member = lab.state.members[0].netns
            netns.run(member, ["ip", "route", "add", f"{SERVICE}/32", "via",
                               str(lab.cfg.route_server.ipv4)])
            assert status_of(dig(member, SERVICE, ".", "SOA").stdout) == "NOERROR"

            # A configuration change reconfigures BIRD; the announcement must stay.
            changed = yaml.safe_load(yaml.safe_dump(lab.data))
            changed["members"][0]["name"] = "Island Telecom (renamed)"
            lab.apply(changed)
            assert lab.members_with_route() == every
            assert gate_is_up(Target(tmp_path, ns), PREFIX) is True

            stopped = time.monotonic()
            assert stop_resolver(tmp_path)
            wait_for("the withdrawal at every member", lambda: not lab.members_with_route(),
                     FALL * INTERVAL + SLACK)
            withdrawn_after = time.monotonic() - stopped
            # published for the UI and SNMP within a poll of the helper
            wait_for("the state published", lambda: read_status(tmp_path)["checkers"][0][
                "announced"] is False, 30)
            status = read_status(tmp_path)
            assert status["running"] and status["checkers"][0]["state"] == "down"

            started = time.monotonic()
            lab.resolver.apply(lab.cfg, ApplyContext(Target(tmp_path, ns)), [])
            assert lab.resolver.last_action == "start"
            wait_for("the announcement again", lambda: lab.members_with_route() == every,
                     RISE * INTERVAL + SLACK)
            announced_after = time.monotonic() - started

            # The route server never reset a member session on the way.
            assert lab.member_sessions() == sessions
            wait_for("the transition published", lambda: len(read_status(tmp_path)[
                "checkers"][0]["transitions"]) == 3, 30)
            [chk] = read_status(tmp_path)["checkers"]
            assert [(t["old"], t["new"]) for t in chk["transitions"]] == [
                ("unknown", "up"), ("up", "down"), ("down", "up")]
            print(f"withdrawn after {withdrawn_after:.1f} s, announced after "
                  f"{announced_after:.1f} s (interval {INTERVAL}, rise {RISE}, fall {FALL})")
        finally:
            svc.stop()
        # Stopping the helper withdraws: nobody vouches for the service any more.
        assert gate_is_up(Target(tmp_path, ns), PREFIX) is False
        assert read_status(tmp_path)["running"] is False


@pytest.mark.netns
def test_anycast_interfaces_are_reconciled_without_extra_writes(root_required, tmp_path):
    with anycast_lab(tmp_path) as lab:
        ns = lab.state.appliance_netns
        addrs = netns.run(ns, ["ip", "-o", "addr", "show", "dev", SERVICE_IFNAME]).stdout
        assert f"{SERVICE}/32" in addrs
        concern = AnycastConcern()
        concern.apply(lab.cfg, ApplyContext(Target(tmp_path, ns)), [])
        assert concern.last_writes == []  # idempotent
        # Turning the anycast list off removes the gate and the service address.
        data = yaml.safe_load(yaml.safe_dump(lab.data))
        data["services"]["anycast"] = []
        data["services"]["resolver"]["ipv4"].remove(SERVICE)
        lab.apply(data)
        assert gate_is_up(Target(tmp_path, ns), PREFIX) is None
        links = netns.run(ns, ["ip", "-o", "link", "show"]).stdout
        assert SERVICE_IFNAME not in links
        with lab.rs() as bc:
            assert all(p.name != protocol_name(PREFIX) for p in bc.protocols())
