"""``AnycastConcern``: the interfaces anycast needs, in the change pipeline.

The route-server render holds the BIRD side (one static route per prefix via its gate), the
anycast helper flips the gates; this concern makes sure the service addresses and the gates
exist before BIRD and unbound are applied. It renders the helper's own file
(``etc/anycast/checkers.json``): the resident helper reads that, not the whole model.

The helper follows the lifecycle rule (docs/design/architecture.md): in a lab the apply
starts it where the file holds a check and none runs, and stops it where none is left; it
follows a changed file by itself (each new revision). On the image its unit runs it, with
the resolver's.
"""

from __future__ import annotations

from pathlib import Path

from appliance.anycast import service
from appliance.anycast.links import apply_links, plan_links
from appliance.anycast.render import CHECKERS_FILE, checker_specs, load_checkers, render_checkers
from appliance.config.model import IXPConfig
from appliance.pipeline.concern import ApplyContext, Change, Concern, RenderedFile, VerifyError

PROCESS = "anycast helper process"


class AnycastConcern(Concern):
    """Service-address interface and gate interfaces for ``services.anycast``."""

    name = "anycast"

    def __init__(self) -> None:
        self.last_writes: list[str] = []  # for logs and the no-op tests
        # What the last apply did to the helper ("start", "stop" or ""), for logs and tests.
        self.last_action = ""

    def render(self, cfg: IXPConfig) -> list[RenderedFile]:
        """The helper's checks; the announcement lives in bird.conf, the addresses in netlink."""
        return [RenderedFile(CHECKERS_FILE, render_checkers(cfg))]

    def verify(self, cfg: IXPConfig, staged: Path) -> None:
        """The helper's own loader must accept the staged file."""
        try:
            load_checkers(staged / CHECKERS_FILE)
        except (ValueError, OSError) as exc:
            raise VerifyError(f"{CHECKERS_FILE}: {exc}") from None

    def plan(self, cfg: IXPConfig, ctx: ApplyContext) -> list[Change]:
        """Interfaces and addresses to add or remove; starting or stopping the helper where
        this apply does it (a lab, see ``apply``)."""
        if not ctx.has_system:
            return []
        changes = [Change(self.name, op.action, f"{op.kind} {op.target}")
                   for op in plan_links(cfg, ctx.target)]
        if service.spawns_here(ctx.target):
            wanted = bool(checker_specs(cfg))
            running = service.running_pid(ctx.target) is not None
            where = f"in {ctx.netns}" if ctx.netns else "on this host"
            if wanted and not running:
                changes.append(Change(self.name, "add", PROCESS, f"start {where}"))
            elif running and not wanted:
                changes.append(Change(self.name, "remove", PROCESS,
                                      f"stop {where} (no anycast prefix to check)"))
        return changes

    def apply(self, cfg: IXPConfig, ctx: ApplyContext, changed_files: list[str]) -> None:
        """Reconcile; gates are made down (withdrawn) and left to the anycast helper, which
        this apply starts or stops where it runs it."""
        self.last_writes, self.last_action = [], ""
        if not ctx.has_system:
            return
        for op in apply_links(cfg, ctx.target):
            self.last_writes.append(str(op))
            ctx.log(f"anycast: {op}")
        if not service.spawns_here(ctx.target):
            return  # the image: ixp-anycast.service runs with the resolver
        if not checker_specs(cfg):
            if service.stop(ctx.target):
                self.last_action = "stop"
                ctx.log("anycast: stopped the helper (no anycast prefix to check)")
        elif service.running_pid(ctx.target) is None:
            pid = service.start(ctx.target)  # SpawnError: the apply fails, rolls back
            self.last_action = "start"
            ctx.log(f"anycast: started the helper (PID {pid})")
