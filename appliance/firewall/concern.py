"""``FirewallConcern``: management-plane isolation in the change pipeline."""

from __future__ import annotations

from pathlib import Path

from appliance.config.model import IXPConfig
from appliance.firewall import nft
from appliance.firewall.render import (
    FAMILY,
    TABLE,
    can_update_in_place,
    render_firewall,
    ruleset_digest,
)
from appliance.firewall.safety import check_host_interface
from appliance.pipeline.concern import ApplyContext, Change, Concern, RenderedFile, VerifyError
from appliance.platform.nft import load_keeping_counters

NFT_FILE = "nft/mgmt-firewall.nft"
# The in-place update actually loaded (run dir: it depends on what was loaded before).
NFT_UPDATE_FILE = "nft/mgmt-firewall-update.nft"
TARGET = f"nft table {FAMILY} {TABLE}"


class FirewallConcern(Concern):
    """The ``inet ixp_mgmt`` table: web/SSH/SNMP on the management NIC only, BGP from members,
    DNS from the resolver's networks, everything else to the box dropped and counted."""

    name = "firewall"

    def __init__(self) -> None:
        # What the last apply did ("loaded", "removed" or None), for the log and the tests.
        self.last_action: str | None = None
        # Whether the last load updated the running table in place (its counters kept).
        self.last_in_place = False

    def render(self, cfg: IXPConfig) -> list[RenderedFile]:
        """The ruleset file; none when ``management.firewall`` is false (the old one goes)."""
        if not cfg.management.firewall:
            return []
        return [RenderedFile(NFT_FILE, render_firewall(cfg).encode("utf-8"))]

    def verify(self, cfg: IXPConfig, staged: Path) -> None:
        """``nft -c`` on the staged ruleset, in a throw-away namespace."""
        if not cfg.management.firewall:
            return
        try:
            nft.check_file(staged / NFT_FILE)
        except nft.NftError as exc:
            raise VerifyError(str(exc)) from None

    def _check_target(self, cfg: IXPConfig, ctx: ApplyContext) -> None:
        # The lab's namespace has no management NIC and nobody manages the lab through one;
        # on the image's host a missing management NIC means a lockout, so refuse.
        if ctx.netns is None:
            check_host_interface(cfg)

    def _running_digest(self, ctx: ApplyContext) -> tuple[bool, str | None]:
        listing = nft.list_table(ctx.target)
        return listing is not None, ruleset_digest(listing) if listing is not None else None

    def plan(self, cfg: IXPConfig, ctx: ApplyContext) -> list[Change]:
        """Loading, reloading or removing the table, when the running one differs.

        Raises ``LockoutRefused`` (a ``ValueError``) on the image when the management
        interface does not exist, so the pipeline stops before anything changes.
        """
        if not ctx.has_system:
            return []  # config only: a developer machine's own firewall is never ours
        self._check_target(cfg, ctx)
        try:
            loaded, digest = self._running_digest(ctx)
        except nft.NftError as exc:
            raise ValueError(f"firewall: {exc}") from None
        if not cfg.management.firewall:
            return [Change(self.name, "remove", TARGET, "management.firewall is false")] \
                if loaded else []
        want = ruleset_digest(render_firewall(cfg))
        if not loaded:
            return [Change(self.name, "add", TARGET, "management-plane firewall")]
        if digest != want:
            running = nft.read_table(ctx.target)
            kept = running is not None and can_update_in_place(running)
            return [Change(self.name, "change", TARGET,
                           "reload in place, atomic (drop counters kept)" if kept else
                           "reload (atomic replace, drop counters restart from 0)")]
        return []

    def apply(self, cfg: IXPConfig, ctx: ApplyContext, changed_files: list[str]) -> None:
        """Load the installed ruleset unless the running table is already this rendering.

        A no-op apply loads nothing: the running table's digest comment is compared with the
        rendering's. A change loads the rules into the running table in place, so its drop
        counters keep counting; if nft refuses that, the installed file replaces the table
        (logged). ``management.firewall: false`` removes the table (and only ours).
        """
        self.last_action = None
        self.last_in_place = False
        if not ctx.has_system:
            return
        self._check_target(cfg, ctx)
        if not cfg.management.firewall:
            if nft.delete_table(ctx.target):
                self.last_action = "removed"
                ctx.log(f"firewall: removed {TARGET}")
            return
        path = ctx.etc_dir / NFT_FILE
        want = ruleset_digest(path.read_text("utf-8"))
        if want is None or want != ruleset_digest(render_firewall(cfg)):
            # The pipeline installed this file just before; anything else is a bug upstream,
            # and loading a file that is not this configuration's would be worse than failing.
            raise RuntimeError(f"firewall: {path} is not the rendering of this configuration")
        _loaded, digest = self._running_digest(ctx)
        if digest == want:
            return
        # One nft transaction either way, never a moment without rules: in place (flush,
        # delete what goes, define) or the installed file (add table, delete it, define).
        running = nft.read_table(ctx.target)
        update = (render_firewall(cfg, running)
                  if running is not None and can_update_in_place(running) else None)
        self.last_in_place = load_keeping_counters(
            ctx.netns, running=running, update_text=update,
            update_path=ctx.run_dir / NFT_UPDATE_FILE, full_path=path, log=ctx.log,
            what="firewall", name=NFT_FILE)
        self.last_action = "loaded"
