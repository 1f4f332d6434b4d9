"""``SnmpConcern``: the SNMP agent in the change pipeline."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from appliance.config.model import IXPConfig
from appliance.pipeline.concern import ApplyContext, Change, Concern, RenderedFile, VerifyError
from appliance.snmp.paths import AGENT_FILE, AGENT_GROUP
from appliance.snmp.render import render_agent_config
from appliance.snmp.settings import SettingsError, load_settings
from appliance.snmp.status import running_agent_pid


class SnmpConcern(Concern):
    """Renders ``etc/snmp/agent.json``; a running agent reloads it on SIGHUP."""

    name = "snmp"

    def __init__(self) -> None:
        self.last_reloaded: int | None = None  # PID signalled by the last apply (for tests)

    def render(self, cfg: IXPConfig) -> list[RenderedFile]:
        """The agent configuration: it holds communities and keys, so root and the agent's
        own group (``ixp-snmp`` on the image, where the agent runs as that user) read it."""
        return [RenderedFile(AGENT_FILE, render_agent_config(cfg), 0o640, group=AGENT_GROUP)]

    def verify(self, cfg: IXPConfig, staged: Path) -> None:
        """The agent's own loader must accept the staged file."""
        try:
            load_settings(staged / AGENT_FILE)
        except (SettingsError, OSError) as exc:
            raise VerifyError(f"{AGENT_FILE}: {exc}") from None

    def plan(self, cfg: IXPConfig, ctx: ApplyContext) -> list[Change]:
        """Nothing beyond the file: the reload follows from it changing."""
        return []

    def apply(self, cfg: IXPConfig, ctx: ApplyContext, changed_files: list[str]) -> None:
        """Tell a running agent to reload, only when its file changed (idempotent)."""
        self.last_reloaded = None
        if AGENT_FILE not in changed_files:
            return
        pid = running_agent_pid(ctx.run_dir)
        if pid is None:
            ctx.log("snmp: no agent running; it reads the new configuration when it starts")
            return
        os.kill(pid, signal.SIGHUP)
        self.last_reloaded = pid
        ctx.log(f"snmp: told the agent (pid {pid}) to reload {AGENT_FILE}")
