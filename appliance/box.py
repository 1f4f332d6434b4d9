"""The composition root: the box's capabilities, in apply order, and the pipeline over them.

This is the one place that knows every capability. The pipeline knows none (it runs whatever
concerns it is given); the front ends (CLI, web, runner) get their pipeline and candidates
here. A new capability is a folder with the usual rooms and one line below.
"""

from __future__ import annotations

from pathlib import Path

from appliance.pipeline.candidate import CandidateStore
from appliance.pipeline.concern import Concern
from appliance.pipeline.run import Pipeline, ProgressFn


def concerns(state_dir: Path | None = None) -> list[Concern]:
    """Every concern of the appliance, in the order they are applied.

    The bridge comes first (the route-server and resolver addresses live on it), then the
    anycast interfaces (BIRD routes via them, unbound binds to them), and the SNMP
    agent last (it only reads what the others made). ``state_dir`` gives concerns their data
    (the route server's IRR cache); in a lab recorded there, the lab's member routers come
    just before the bridge.
    """
    # Imported here, not at the top: a front end that only reads (the collector, the SNMP
    # agent) imports this module without paying for every capability.
    from appliance.alerts.concern import AlertsConcern
    from appliance.anycast.concern import AnycastConcern
    from appliance.bridge.concern import BridgeConcern
    from appliance.firewall.concern import FirewallConcern
    from appliance.lab.concern import LabConcern, lab_recorded
    from appliance.management.concern import ManagementConcern
    from appliance.monitor.concern import MonitorConcern
    from appliance.pipeline.core import CoreConcern
    from appliance.resolver.concern import ResolverConcern
    from appliance.route_server.concern import RouteServerConcern
    from appliance.snmp.concern import SnmpConcern

    route_server = (RouteServerConcern.from_state(state_dir) if state_dir is not None
                    else RouteServerConcern())
    # the management firewall before anything listens, so no service is ever unprotected
    # then the box's own addresses, name and clock (applied on the image only)
    concerns: list[Concern] = [CoreConcern(), FirewallConcern(), ManagementConcern(),
                               BridgeConcern(),
                               AnycastConcern(), route_server, ResolverConcern(), SnmpConcern(),
                               MonitorConcern(), AlertsConcern()]
    if state_dir is not None and lab_recorded(state_dir):
        # in the lab, a member's port and router exist before the bridge takes the port
        concerns.insert(3, LabConcern())
    return concerns


def build_pipeline(state_dir: str | Path, *, netns: str | None = None,
                   progress: ProgressFn | None = None) -> Pipeline:
    """The change pipeline of ``state_dir`` over every capability of the box."""
    state = Path(state_dir).absolute()
    return Pipeline(state, concerns(state), netns=netns, progress=progress)


def candidates(state_dir: str | Path, *, netns: str | None = None) -> CandidateStore:
    """The candidates of ``state_dir``, compared and applied by the box's pipeline."""
    return CandidateStore(Path(state_dir), lambda: build_pipeline(state_dir, netns=netns))
