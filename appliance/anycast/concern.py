"""``AnycastConcern``: the interfaces anycast needs, in the change pipeline.

The route-server render holds the BIRD side (one static route per prefix via its gate), the
anycast helper flips the gates; this concern makes sure the service addresses and the gates
exist before BIRD and unbound are applied. It renders the helper's own file
(``etc/anycast/checkers.json``): the resident helper reads that, not the whole model.
"""

from __future__ import annotations

from pathlib import Path

from appliance.anycast.links import apply_links, plan_links
from appliance.anycast.render import CHECKERS_FILE, load_checkers, render_checkers
from appliance.config.model import IXPConfig
from appliance.pipeline.concern import ApplyContext, Change, Concern, RenderedFile, VerifyError


class AnycastConcern(Concern):
    """Service-address interface and gate interfaces for ``services.anycast``."""

    name = "anycast"

    def __init__(self) -> None:
        self.last_writes: list[str] = []  # for logs and the no-op tests

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
        """Interfaces and addresses to add or remove."""
        if not ctx.has_system:
            return []
        return [Change(self.name, op.action, f"{op.kind} {op.target}")
                for op in plan_links(cfg, ctx.target)]

    def apply(self, cfg: IXPConfig, ctx: ApplyContext, changed_files: list[str]) -> None:
        """Reconcile; gates are made down (withdrawn) and left to the anycast helper."""
        self.last_writes = []
        if not ctx.has_system:
            return
        for op in apply_links(cfg, ctx.target):
            self.last_writes.append(str(op))
            ctx.log(f"anycast: {op}")
