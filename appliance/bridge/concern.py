"""``BridgeConcern``: the peering LAN in the change pipeline."""

from __future__ import annotations

from pathlib import Path

from appliance.bridge import nft
from appliance.bridge.plan import Op
from appliance.bridge.reconcile import plan_bridge, reconcile
from appliance.bridge.render import (
    FAMILY,
    STORM_BURST,
    STORM_PPS,
    TABLE,
    RunningTable,
    render_hygiene,
)
from appliance.config.model import IXPConfig
from appliance.pipeline.concern import ApplyContext, Change, Concern, RenderedFile, VerifyError
from appliance.platform.nft import load_keeping_counters

NFT_FILE = "nft/hygiene.nft"
# The in-place update actually loaded (run dir: it depends on what was loaded before).
NFT_UPDATE_FILE = "nft/hygiene-update.nft"


class BridgeConcern(Concern):
    """The bridge (netlink) and its hygiene ruleset (nftables, bridge family)."""

    name = "bridge"

    def __init__(self, storm_pps: int = STORM_PPS, storm_burst: int = STORM_BURST) -> None:
        self.storm_pps = storm_pps
        self.storm_burst = storm_burst
        # What the last apply did, for the CLI log and the zero-write tests.
        self.last_writes: list[Op] = []
        self.last_ruleset_loaded = False

    def _render(self, cfg: IXPConfig, running: RunningTable | None = None) -> str:
        lan = cfg.peering_lan
        return render_hygiene(cfg, storm_pps=lan.storm_pps or self.storm_pps,
                              storm_burst=lan.storm_burst or self.storm_burst, running=running)

    def render(self, cfg: IXPConfig) -> list[RenderedFile]:
        """The hygiene ruleset file. Pure."""
        return [RenderedFile(NFT_FILE, self._render(cfg).encode("utf-8"))]

    def verify(self, cfg: IXPConfig, staged: Path) -> None:
        """``nft -c`` on the staged ruleset, in a throw-away namespace."""
        try:
            nft.check_file(staged / NFT_FILE)
        except nft.NftError as exc:
            raise VerifyError(str(exc)) from None

    def plan(self, cfg: IXPConfig, ctx: ApplyContext) -> list[Change]:
        """Netlink writes the bridge needs, plus loading the ruleset if it is not loaded.

        Raises ``PlanError`` (a ``ValueError``) naming the field when a member port is
        missing or taken, so the pipeline stops before anything changes.
        """
        if not ctx.has_system:
            return []  # config only: a developer machine's own interfaces are never ours
        changes = [Change(self.name, op.action, op.target, op.detail)
                   for op in plan_bridge(cfg, ctx.target, ctx.planned_links)]
        if not nft.table_loaded(ctx.target):
            changes.append(Change(self.name, "add", f"nft table {FAMILY} {TABLE}",
                                  "hygiene ruleset"))
        return changes

    def apply(self, cfg: IXPConfig, ctx: ApplyContext, changed_files: list[str]) -> None:
        """Load the ruleset if it changed or is missing, then reconcile the bridge."""
        if not ctx.has_system:
            return
        self.last_ruleset_loaded = False
        # The ruleset goes first: it matches ports by name, so a port that joins the bridge
        # below is filtered from its first frame.
        if NFT_FILE in changed_files or not nft.table_loaded(ctx.target):
            self._load_ruleset(cfg, ctx)
            self.last_ruleset_loaded = True
        self.last_writes = reconcile(cfg, ctx.target)
        for op in self.last_writes:
            ctx.log(f"bridge: {op}")

    def _load_ruleset(self, cfg: IXPConfig, ctx: ApplyContext) -> None:
        """Load the installed rules; into a loaded table in place, so its counters keep on."""
        running = nft.read_table(ctx.target)
        update = self._render(cfg, running) if running is not None and running.updatable \
            else None
        load_keeping_counters(ctx.netns, running=running, update_text=update,
                              update_path=ctx.run_dir / NFT_UPDATE_FILE,
                              full_path=ctx.etc_dir / NFT_FILE, log=ctx.log, what="bridge",
                              name=NFT_FILE)
