"""The anycast helper end to end: real unbound, real route-server BIRD, real member BIRDs.

The helper is started by the apply (no runner around), as the lifecycle rule says; a second
apply leaves it alone, and the runner's supervision starts again one that was killed. The
resolver's service prefix reaches every member only while unbound answers; stopping unbound
withdraws it within fall × interval, starting it announces it again within rise × interval,
and neither touches the members' sessions. A configuration change that reconfigures BIRD must
not withdraw it either.
"""

from __future__ import annotations

import os
import signal
import time

import pytest
import yaml

from appliance.anycast import service
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
        target = Target(tmp_path, ns)
        # The apply started the helper in the lab's namespace, with a PID file of its own.
        pid = service.running_pid(target)
        assert pid is not None, "the apply must start the anycast helper"
        assert os.stat(f"/proc/{pid}/ns/net").st_ino == os.stat(f"/var/run/netns/{ns}").st_ino
        wait_for("every member session", lambda: len(lab.member_sessions()) == lab.bgp_count(),
                 90)
        sessions = lab.member_sessions()
        with lab.rs() as bc:
            assert bc.protocol(protocol_name(PREFIX)).state == "up"
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
            # The helper follows the new revision by itself: the apply left it running.
            assert service.running_pid(target) == pid

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

            # Killed outright (no withdrawal): the runner's supervision starts it again, and
            # the new helper announces the healthy service again.
            os.kill(pid, signal.SIGKILL)
            wait_for("the helper gone", lambda: service.running_pid(target) is None, 30)
            AnycastService(target).check()
            again = service.running_pid(target)
            assert again is not None and again != pid
            wait_for("the announcement from the new helper", lambda: (c := read_status(
                tmp_path)["checkers"]) and c[0]["announced"], RISE * INTERVAL + SLACK)
            assert lab.members_with_route() == every
        finally:
            service.stop(target)
        # Stopping the helper withdraws: nobody vouches for the service any more.
        assert gate_is_up(Target(tmp_path, ns), PREFIX) is False
        assert read_status(tmp_path)["running"] is False


@pytest.mark.netns
def test_anycast_interfaces_are_reconciled_without_extra_writes(root_required, tmp_path):
    with anycast_lab(tmp_path) as lab:
        ns = lab.state.appliance_netns
        target = Target(tmp_path, ns)
        addrs = netns.run(ns, ["ip", "-o", "addr", "show", "dev", SERVICE_IFNAME]).stdout
        assert f"{SERVICE}/32" in addrs
        pid = service.running_pid(target)
        assert pid is not None, "the apply must start the anycast helper"
        concern = AnycastConcern()
        assert concern.plan(lab.cfg, ApplyContext(target)) == []
        concern.apply(lab.cfg, ApplyContext(target), [])
        assert concern.last_writes == [] and concern.last_action == ""  # idempotent
        assert service.running_pid(target) == pid
        # Stopped (as if it had died): the plan says the apply starts it, and it does.
        assert service.stop(target)
        [change] = concern.plan(lab.cfg, ApplyContext(target))
        assert (change.action, change.target) == ("add", "anycast helper process")
        concern.apply(lab.cfg, ApplyContext(target), [])
        assert concern.last_action == "start" and service.running_pid(target) is not None
        # Turning the anycast list off removes the gate and the service address.
        data = yaml.safe_load(yaml.safe_dump(lab.data))
        data["services"]["anycast"] = []
        data["services"]["resolver"]["ipv4"].remove(SERVICE)
        lab.apply(data)
        assert gate_is_up(Target(tmp_path, ns), PREFIX) is None
        links = netns.run(ns, ["ip", "-o", "link", "show"]).stdout
        assert SERVICE_IFNAME not in links
        # Nothing left to vouch for: the apply stopped the helper.
        assert service.running_pid(target) is None
        assert read_status(tmp_path)["running"] is False
        with lab.rs() as bc:
            assert all(p.name != protocol_name(PREFIX) for p in bc.protocols())
