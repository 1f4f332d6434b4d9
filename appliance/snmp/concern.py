"""``SnmpConcern``: the SNMP agent in the change pipeline: its file, and the agent itself.

The agent follows the lifecycle rule (docs/design/architecture.md): in a lab the apply starts
it where SNMP is enabled and none runs, and stops it where SNMP is disabled; on the image its
unit runs it (started once its file exists). Everywhere a running agent is told to reload its
changed file (SIGHUP): it re-reads it without a restart.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

from appliance.config.model import IXPConfig
from appliance.pipeline.concern import ApplyContext, Change, Concern, RenderedFile, VerifyError
from appliance.snmp import service
from appliance.snmp.paths import AGENT_FILE, AGENT_GROUP
from appliance.snmp.render import render_agent_config
from appliance.snmp.settings import SettingsError, load_settings
from appliance.snmp.status import running_agent_pid

PROCESS = "SNMP agent process"


class SnmpConcern(Concern):
    """Renders ``etc/snmp/agent.json``; a running agent reloads it on SIGHUP; in a lab the
    apply starts and stops the agent."""

    name = "snmp"

    def __init__(self) -> None:
        self.last_reloaded: int | None = None  # PID signalled by the last apply (for tests)
        # What the last apply did to the process ("start", "stop" or ""), for logs and tests.
        self.last_action = ""

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
        """Starting or stopping the agent where this apply does it (a lab, see ``apply``); a
        reload follows from the file change itself."""
        if not service.spawns_here(ctx.target):
            return []
        running = service.running_pid(ctx.target) is not None
        if cfg.snmp.enabled and not running:
            return [Change(self.name, "add", PROCESS,
                           f"start, listening on {service.dev_listen(ctx.target)}")]
        if not cfg.snmp.enabled and running:
            return [Change(self.name, "remove", PROCESS, "stop (SNMP is disabled)")]
        return []

    def apply(self, cfg: IXPConfig, ctx: ApplyContext, changed_files: list[str]) -> None:
        """Start or stop the agent where this apply runs it; tell a running agent to reload
        when its file changed (idempotent: nothing changed, nothing done)."""
        self.last_reloaded, self.last_action = None, ""
        if service.spawns_here(ctx.target):
            if not cfg.snmp.enabled:
                if service.stop(ctx.target):
                    self.last_action = "stop"
                    ctx.log("snmp: stopped the agent (SNMP is disabled)")
                return
            if service.running_pid(ctx.target) is None:
                pid = service.start(ctx.target)  # SpawnError: the apply fails, rolls back
                self.last_action = "start"
                ctx.log(f"snmp: started the agent (PID {pid}) on "
                        f"{service.dev_listen(ctx.target)}")
                return  # it read the installed file as it started
        if AGENT_FILE not in changed_files:
            return
        pid = running_agent_pid(ctx.run_dir)
        if pid is None:
            ctx.log("snmp: no agent running; it reads the new configuration when it starts")
            return
        os.kill(pid, signal.SIGHUP)
        self.last_reloaded = pid
        ctx.log(f"snmp: told the agent (pid {pid}) to reload {AGENT_FILE}")
