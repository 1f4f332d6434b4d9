"""The core concern: the canonical configuration file every service reads."""

from __future__ import annotations

from appliance.config.loader import dump_config
from appliance.config.model import IXPConfig
from appliance.pipeline.concern import Concern, RenderedFile


class CoreConcern(Concern):
    """Installs ``etc/ixp.yaml``, the applied configuration in canonical form."""

    name = "core"

    def render(self, cfg: IXPConfig) -> list[RenderedFile]:
        """The canonical YAML of ``cfg`` (owner-readable only: it may hold secrets)."""
        return [RenderedFile("ixp.yaml", dump_config(cfg).encode("utf-8"), 0o600)]
