"""``AlertsConcern``: the alert engine's file (``etc/alerts/alerts.json``) in the pipeline."""

from __future__ import annotations

import json
from pathlib import Path

from appliance.alerts.render import SETTINGS_FILE, SETTINGS_GROUP, parse_settings, render_settings
from appliance.config.model import IXPConfig
from appliance.pipeline.concern import ApplyContext, Change, Concern, RenderedFile, VerifyError


class AlertsConcern(Concern):
    """Renders the rules and channels; the collector reads the file at its next round."""

    name = "alerts"

    def render(self, cfg: IXPConfig) -> list[RenderedFile]:
        """The rules, the channels (with their secrets: root and the collector's group only)
        and the members' names."""
        return [RenderedFile(SETTINGS_FILE, render_settings(cfg), mode=0o640,
                             group=SETTINGS_GROUP)]

    def verify(self, cfg: IXPConfig, staged: Path) -> None:
        """The engine's own parser must accept the staged file."""
        try:
            parse_settings(json.loads((staged / SETTINGS_FILE).read_text("utf-8")))
        except (ValueError, OSError) as exc:
            raise VerifyError(f"{SETTINGS_FILE}: {exc}") from None

    def plan(self, cfg: IXPConfig, ctx: ApplyContext) -> list[Change]:
        """Nothing beyond the file."""
        return []

    def apply(self, cfg: IXPConfig, ctx: ApplyContext, changed_files: list[str]) -> None:
        """Nothing to do: the engine reads the file every round (no signal needed)."""
