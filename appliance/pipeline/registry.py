"""The concerns the pipeline runs, in apply order. Each part of the box adds its concern here."""

from __future__ import annotations

from pathlib import Path

from appliance.pipeline.concern import Concern


def default_concerns(state_dir: Path | None = None) -> list[Concern]:
    """Every concern of the appliance, in the order they are applied.

    The bridge comes first (the route-server and resolver addresses live on it), then the
    anycast interfaces (BIRD routes via them, unbound binds to them), and the SNMP
    agent last (it only reads what the others made). ``state_dir`` gives concerns their data
    (the route server's IRR cache); in a lab recorded there, the lab's member routers come
    just before the bridge.
    """
    from appliance.bird.concern import RouteServerConcern
    from appliance.bridge.concern import BridgeConcern
    from appliance.config.concern import CoreConcern
    from appliance.dns.anycast_concern import AnycastConcern
    from appliance.dns.concern import ResolverConcern
    from appliance.firewall.concern import FirewallConcern
    from appliance.lab.concern import LabConcern, lab_recorded
    from appliance.management.concern import ManagementConcern
    from appliance.monitor.concern import MonitorConcern
    from appliance.snmp.concern import SnmpConcern

    route_server = (RouteServerConcern.from_state(state_dir) if state_dir is not None
                    else RouteServerConcern())
    # the management firewall before anything listens, so no service is ever unprotected
    # then the box's own addresses, name and clock (applied on the image only)
    concerns: list[Concern] = [CoreConcern(), FirewallConcern(), ManagementConcern(),
                               BridgeConcern(),
                               AnycastConcern(), route_server, ResolverConcern(), SnmpConcern(),
                               MonitorConcern()]
    if state_dir is not None and lab_recorded(state_dir):
        # in the lab, a member's port and router exist before the bridge takes the port
        concerns.insert(3, LabConcern())
    return concerns
