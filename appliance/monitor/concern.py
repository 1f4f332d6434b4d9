"""``MonitorConcern``: the collector's file (``etc/monitor/collector.json``) in the pipeline."""

from __future__ import annotations

from pathlib import Path

from appliance.config.model import IXPConfig
from appliance.monitor.targets import TARGETS_FILE, load_targets, render_targets
from appliance.pipeline.concern import ApplyContext, Change, Concern, RenderedFile, VerifyError


class MonitorConcern(Concern):
    """Renders what the collector samples; the collector sees a new file at its next round."""

    name = "monitor"

    def render(self, cfg: IXPConfig) -> list[RenderedFile]:
        """The member ports and member addresses (nothing secret: the UI shows them)."""
        return [RenderedFile(TARGETS_FILE, render_targets(cfg))]

    def verify(self, cfg: IXPConfig, staged: Path) -> None:
        """The collector's own loader must accept the staged file."""
        try:
            load_targets(staged / TARGETS_FILE)
        except (ValueError, OSError) as exc:
            raise VerifyError(f"{TARGETS_FILE}: {exc}") from None

    def plan(self, cfg: IXPConfig, ctx: ApplyContext) -> list[Change]:
        """Nothing beyond the file."""
        return []

    def apply(self, cfg: IXPConfig, ctx: ApplyContext, changed_files: list[str]) -> None:
        """Nothing to do: the collector checks the file every round (no signal needed)."""
