"""``LabConcern``: in the lab, a member added to the config gets its port and router.

The demo exists to be played with: adding a member (web form, API or ``ixpctl member add``)
in a lab creates the veth port it names and a member router behind it running BIRD, and
removing a member removes them, all inside the same validated, rolled-back pipeline run. On the
box this concern is not registered: there a port is a real NIC.
"""

from __future__ import annotations

from pathlib import Path

from pyroute2 import IPRoute

from appliance.config.model import IXPConfig
from appliance.lab.lab import LAB_FILE, LabError, LabState, plan_members, sync_members
from appliance.pipeline.concern import (
    ApplyContext,
    Change,
    Concern,
    RenderedFile,
    VerifyError,
)


def lab_recorded(state_dir: Path) -> bool:
    """Whether a lab is recorded for ``state_dir`` (so the lab concern belongs there)."""
    return (state_dir / LAB_FILE).exists()


class LabConcern(Concern):
    """Member routers of the namespace lab, kept to one per member of the config."""

    name = "lab"

    def render(self, cfg: IXPConfig) -> list[RenderedFile]:
        """No files: the member routers' configs live in the lab's own folder."""
        return []

    def verify(self, cfg: IXPConfig, staged: Path) -> None:
        """The lab models one untagged port per member; say which member does not fit."""
        for i, m in enumerate(cfg.members):
            if len(m.ports) != 1 or m.ports[0].vlan is not None:
                raise VerifyError(f"members[{i}].ports: the lab models one untagged port per "
                                  "member; give this member a single port without a VLAN")

    def _state(self, ctx: ApplyContext) -> LabState | None:
        state = LabState.load(ctx.state_dir)
        if state is None or ctx.netns != state.appliance_netns:
            return None  # changes aimed elsewhere (another namespace) are not the lab's
        return state

    def plan(self, cfg: IXPConfig, ctx: ApplyContext) -> list[Change]:
        """Ports and routers to create or remove; new ports count as present for the bridge."""
        state = self._state(ctx)
        if state is None:
            return []
        try:
            with IPRoute(netns=state.appliance_netns) as ipr:
                links = {link.get_attr("IFLA_IFNAME") for link in ipr.get_links()}
        except OSError as exc:
            raise LabError(f"the lab's namespace {state.appliance_netns} is gone ({exc}); "
                           "run 'ixpctl lab down' and start the lab again") from None
        plan = plan_members(state, cfg, links - {lm.port for lm in state.members})
        changes = [Change(self.name, "remove", f"lab member router AS{lm.asn} on {lm.port}",
                          "stop its BIRD, remove its namespace and port")
                   for lm in plan.remove]
        for i in plan.add:
            m = cfg.members[i]
            port = m.ports[0].interface
            ctx.planned_links.add(port)
            changes.append(Change(self.name, "add", f"lab port {port}",
                                  f"veth to a new member router for AS{m.asn} {m.name}"))
        return changes

    def apply(self, cfg: IXPConfig, ctx: ApplyContext, changed_files: list[str]) -> None:
        """Create and remove member routers; nothing when the lab already matches."""
        if self._state(ctx) is None:
            return
        plan = sync_members(ctx.state_dir, cfg)
        for lm in plan.remove:
            ctx.log(f"lab: removed the member router on {lm.port}")
        for i in plan.add:
            ctx.log(f"lab: added a member router for AS{cfg.members[i].asn}")
