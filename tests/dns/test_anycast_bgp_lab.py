"""The anycast helper end to end: real unbound, real route-server BIRD, real member BIRDs.

The resolver's service prefix reaches every member only while unbound answers; stopping
unbound withdraws it within fall × interval, starting it announces it again within
rise × interval, and neither touches the members' sessions. A configuration change that
reconfigures BIRD must not withdraw it either.
"""

from __future__ import annotations

import time

import pytest
import yaml

from appliance.anycast.concern import AnycastConcern
from appliance.anycast.links import gate_is_up
from appliance.anycast.names import SERVICE_IFNAME, protocol_name
from appliance.anycast.service import AnycastService
from appliance.anycast.status import read_status
from appliance.pipeline.concern import ApplyContext
from appliance.platform import netns
from appliance.platform.bird.control import BirdControl
from appliance.platform.target import Target
from appliance.resolver.concern import stop_resolver
from labkit.anycast import FALL, INTERVAL, PREFIX, RISE, SERVICE, SLACK, anycast_lab
from labkit.netlab import wait_for
from labkit.resolver import dig, status_of


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
