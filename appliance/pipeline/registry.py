"""The concerns the pipeline runs, in apply order. Each part of the box adds its concern here."""

from __future__ import annotations

from pathlib import Path

from appliance.pipeline.concern import Concern


def default_concerns(state_dir: Path | None = None) -> list[Concern]:
    """Every concern of the appliance, in the order they are applied.

    The bridge comes first (the route-server and resolver addresses live on it), then the
    anycast interfaces (BIRD routes via them, unbound binds to them), and the SNMP
    agent last (it only reads what the others made). ``state_dir`` gives concerns their data
    (the route server's IRR cache).
    """
    from appliance.bird.concern import RouteServerConcern
    from appliance.bridge.concern import BridgeConcern
    from appliance.config.concern import CoreConcern
    from appliance.dns.anycast_concern import AnycastConcern
    from appliance.dns.concern import ResolverConcern
    from appliance.firewall.concern import FirewallConcern
    from appliance.snmp.concern import SnmpConcern

    route_server = (RouteServerConcern.from_state(state_dir) if state_dir is not None
                    else RouteServerConcern())
    # the management firewall before anything listens, so no service is ever unprotected
    return [CoreConcern(), FirewallConcern(), BridgeConcern(), AnycastConcern(), route_server,
            ResolverConcern(), SnmpConcern()]
