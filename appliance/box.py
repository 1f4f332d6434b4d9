"""The composition root: the box's capabilities, in apply order, and the pipeline over them.

This is the one place that knows every capability. The pipeline knows none (it runs whatever
concerns it is given); the front ends (CLI, web, runner) get their pipeline and candidates
here. A new capability is a folder with the usual rooms and one line below.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from appliance.pipeline.candidate import CandidateStore
from appliance.pipeline.concern import Concern
from appliance.pipeline.run import Outcome, Pipeline, ProgressFn
from appliance.platform.target import Target, as_target


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


def build_pipeline(target: Target | str | Path, *,
                   progress: ProgressFn | None = None) -> Pipeline:
    """The change pipeline of ``target`` over every capability of the box (a bare state
    directory: config-only, on this host)."""
    where = as_target(target)
    state = where.state_dir.absolute()
    return Pipeline(Target(state, where.netns), concerns(state), progress=progress)


def candidates(target: Target | str | Path) -> CandidateStore:
    """The candidates of ``target``'s state directory, compared and applied by the box's
    pipeline."""
    where = as_target(target)
    return CandidateStore(where.state_dir, lambda: build_pipeline(where))


REFRESH_AUTHOR = "refresh"


@dataclass
class RefreshReport:
    """What one data refresh did, for ``ixpctl data refresh``, the timer and the runner."""

    sources: list[str]  # what was asked for (or due)
    changed: list[str]  # the sources whose data changed
    failures: dict[str, str]  # source -> why it could not be fetched (its old data stays)
    lines: list[str]  # what changed per member, in words (English; Phrases)
    outcome: Outcome | None = None  # the pipeline run, when the data changed
    message: str = ""

    @property
    def ok(self) -> bool:
        """No source failed and the apply (if any) went through."""
        return not self.failures and (self.outcome is None or self.outcome.ok)


def refresh_data(target: Target | str | Path, *, sources: list[str] | None = None,
                 only_due: bool = False,
                 since: datetime | None = None, now: datetime | None = None,
                 run: Callable[..., Any] | None = None) -> RefreshReport:
    """Fetch the route server's IRR and PeeringDB data again and apply it through the
    pipeline as a revision by "refresh", with what changed per member as its comment.

    ``only_due``: only the sources whose interval (``route_server.refresh``) has passed (the
    timer and the runner); ``since``: see ``route_server.refresh.due``. Unchanged data makes
    no revision. When the apply fails, the data files are put back as they were, so the data
    in force stays the one the running route server has.
    """
    import subprocess

    from appliance.config.committed import committed_config
    from appliance.config.summary import data_change_lines, refresh_comment
    from appliance.route_server import refresh

    where = as_target(target)
    state = where.state_dir.absolute()
    now = now or datetime.now(UTC)
    cfg = committed_config(state)
    if cfg is None:
        return RefreshReport([], [], {}, [], message="no configuration committed yet: "
                             "nothing to refresh")
    if only_due:
        wanted = refresh.due(state, cfg.route_server.refresh, now, since)
    else:
        wanted = [s for s in refresh.SOURCES if sources is None or s in sources]
    if not wanted:
        return RefreshReport([], [], {}, [], message="nothing is due" if only_due else
                             "nothing to refresh")
    fetched = refresh.fetch(state, cfg, wanted, now=now, run=run or subprocess.run)
    lines = [str(p) for p in data_change_lines(fetched.changes)]
    report = RefreshReport(wanted, fetched.changed, fetched.failures, lines)
    if not fetched.changed:
        report.message = "the data is unchanged: nothing to apply"
        refresh.record(state, last={"at": refresh.iso(now), "sources": wanted,
                                    "changes": [], "revision": None,
                                    "failures": fetched.failures})
        return report
    pipeline = build_pipeline(Target(state, where.netns))
    latest = pipeline.store.latest()
    assert latest is not None  # committed_config found it
    outcome = pipeline.run(latest.config, author=REFRESH_AUTHOR,
                           comment=refresh_comment(fetched.changed, fetched.changes),
                           based_on=latest.id, record=True)
    report.outcome, report.message = outcome, outcome.message or (outcome.error or "")
    if outcome.ok and outcome.revision and outcome.revision.id != latest.id:
        refresh.record_revision(state, outcome.revision.id, fetched.changed, fetched.changes)
    if not outcome.ok:
        refresh.restore(state, fetched.previous)
        report.message = f"the new data was not applied ({outcome.error}); the previous data " \
                         "stays in force"
    refresh.record(state, last={
        "at": refresh.iso(now), "sources": wanted, "changes": fetched.changes,
        "revision": outcome.revision.id if outcome.ok and outcome.revision
        and outcome.revision.id != latest.id else None,
        "failures": fetched.failures, "error": None if outcome.ok else outcome.error})
    return report
