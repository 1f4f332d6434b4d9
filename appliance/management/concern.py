"""``ManagementConcern``: the box's own host name, management addresses, DNS, NTP and time zone.

Rendered and verified everywhere (so a lab or a developer machine reviews the same files), but
applied only on the appliance image's host: a lab namespace has no management NIC, and a
developer machine's name, addresses and clock are never ours. A change of the management
addresses or NIC is applied on trial (see ``trial.py``): confirmed from the new address, or
put back by itself.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from appliance.config.model import IXPConfig
from appliance.firewall.safety import recorded_mgmt_interface
from appliance.management import trial
from appliance.management.host import Host
from appliance.management.render import (
    NETWORK_FILE,
    TIMESYNCD_FILE,
    address_plan,
    dhcp_plan,
    render_files,
    render_network,
    render_timesyncd,
)
from appliance.pipeline.concern import (
    ApplyContext,
    Change,
    Concern,
    RenderedFile,
    VerifyError,
)
from appliance.platform.target import IMAGE_MARKER

ZONEINFO = Path("/usr/share/zoneinfo")


def _on_image() -> bool:
    return IMAGE_MARKER.exists()


class ManagementConcern(Concern):
    """The management plane of the box itself (not of the peering LAN)."""

    name = "management"

    def __init__(self, host: Host | None = None, on_image: Callable[[], bool] = _on_image,
                 zoneinfo: Path = ZONEINFO) -> None:
        self.host = host or Host()
        self.on_image = on_image
        self.zoneinfo = zoneinfo
        # The trial the last apply started, if any (for the log and the tests).
        self.last_trial: trial.Trial | None = None

    def render(self, cfg: IXPConfig) -> list[RenderedFile]:
        """The .network file, the NTP drop-in, the host name and the time zone. Pure."""
        return [RenderedFile(path, text.encode("utf-8"))
                for path, text in render_files(cfg).items()]

    def verify(self, cfg: IXPConfig, staged: Path) -> None:
        """The time zone must exist in this system's zone database (timedatectl needs it)."""
        zone = cfg.management.timezone
        if self.zoneinfo.is_dir() and zone != "UTC" and not (self.zoneinfo / zone).is_file():
            raise VerifyError(f"management.timezone: {zone} is not in {self.zoneinfo} on this "
                              "box; pick a zone from the list")

    def _applies(self, ctx: ApplyContext) -> bool:
        return ctx.netns is None and self.on_image()

    def _baseline(self, cfg: IXPConfig, ctx: ApplyContext):
        """The addresses known to reach the operator: confirmed ones, else first boot's."""
        known = trial.confirmed(ctx.state_dir)
        if known is not None:
            return known
        return dhcp_plan(recorded_mgmt_interface() or cfg.management.interface)

    def plan(self, cfg: IXPConfig, ctx: ApplyContext) -> list[Change]:
        """What differs on the host: name, addresses (on trial), NTP servers, time zone."""
        if not self._applies(ctx):
            return []
        mgmt = cfg.management
        changes: list[Change] = []
        if self.host.hostname() != mgmt.hostname:
            changes.append(Change(self.name, "change", "host name",
                                  f"{self.host.hostname()} → {mgmt.hostname}"))
        if self.host.network_file() != render_network(mgmt):
            new, known = address_plan(mgmt), self._baseline(cfg, ctx)
            notice = ""
            if new != known:
                where = ", ".join(f"https://{a}/management" for a in new.static_addresses()) \
                    or "the Management page, on the address DHCP gives the box"
                notice = (f"The new management network is applied ON TRIAL: this page stops "
                          f"answering; open {where} and confirm within {mgmt.trial_seconds} s, "
                          f"or the box goes back to {known.describe()} by itself.")
            changes.append(Change(self.name, "change", "management network", new.describe(),
                                  notice=notice))
        if self.host.timesyncd_file() != render_timesyncd(mgmt):
            changes.append(Change(self.name, "change", "NTP servers",
                                  " ".join(mgmt.ntp) or "none"))
        if self.host.timezone() != mgmt.timezone:
            changes.append(Change(self.name, "change", "time zone",
                                  f"{self.host.timezone()} → {mgmt.timezone}"))
        return changes

    def apply(self, cfg: IXPConfig, ctx: ApplyContext, changed_files: list[str]) -> None:
        """Make the host match; only what differs is touched (a re-apply changes nothing)."""
        self.last_trial = None
        self.host.actions.clear()
        if not self._applies(ctx):
            return
        mgmt = cfg.management
        etc = ctx.etc_dir
        if self.host.hostname() != mgmt.hostname:
            self.host.set_hostname(mgmt.hostname)
        if self.host.timezone() != mgmt.timezone:
            self.host.set_timezone(mgmt.timezone)
        ntp = (etc / TIMESYNCD_FILE).read_text("utf-8")
        if self.host.timesyncd_file() != ntp:
            self.host.set_ntp(ntp)
        network = (etc / NETWORK_FILE).read_text("utf-8")
        if self.host.network_file() == network:
            return
        new, known = address_plan(mgmt), self._baseline(cfg, ctx)
        running = trial.pending(ctx.state_dir)
        self.host.set_network(network, [mgmt.interface, known.interface])
        if new == known:
            # back on (or still on) addresses that reached the operator: no trial needed
            trial.record_confirmed(ctx.state_dir, new)
            if running is not None:
                trial.clear(ctx.state_dir)
                self.host.cancel_revert(running.id)
            return
        armed = trial.arm(ctx.state_dir, new, known, mgmt.trial_seconds)
        if running is not None:
            self.host.cancel_revert(running.id)
        self.host.schedule_revert(armed.id, mgmt.trial_seconds, ctx.state_dir)
        self.last_trial = armed
        ctx.log(f"management: {new.describe()} on trial for {mgmt.trial_seconds} s")
