"""What a concern (bridge, route server, resolver, SNMP, ...) plugs into the pipeline.

A concern renders files from the model (pure), lets real tools verify them, says what it would
change on the running system, and reconciles it. The pipeline does the rest: staging, file
installation, locking, rollback and the revision store.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal

if TYPE_CHECKING:  # only in type hints: importing the model costs every daemon wrapper
    from appliance.config.model import IXPConfig

from appliance.platform.target import Target, TargetRefused

__all__ = ["ApplyContext", "Change", "Concern", "RenderedFile", "TargetRefused", "VerifyError"]


@dataclass(frozen=True)
class RenderedFile:
    """A file a concern wants installed under ``<state_dir>/etc/``."""

    path: str  # relative, POSIX, e.g. "bird/bird.conf"
    content: bytes
    mode: int = 0o644
    # The group that may read it when the daemon drops root (BIRD runs as "bird"); kept as
    # root's if this system has no such group (a developer machine without the package).
    group: str | None = None


@dataclass(frozen=True)
class Change:
    """One planned change, as shown to the operator before it happens."""

    concern: str
    action: Literal["add", "change", "remove"]
    target: str
    detail: str = ""
    path: str = ""  # for file changes: the rendered file's relative path
    # What the operator must do about it, shown prominently in the review (e.g. a trial)
    notice: str = ""

    def __str__(self) -> str:
        sign = {"add": "+", "change": "~", "remove": "-"}[self.action]
        detail = f" ({self.detail})" if self.detail else ""
        return f"{sign} [{self.concern}] {self.target}{detail}"


class VerifyError(Exception):
    """A rendered file was refused by the real tool that checks it (bird -p, nft -c, ...)."""


@dataclass
class ApplyContext:
    """Where and how a change is applied."""

    target: Target  # the state directory and the network this change is applied to
    log: Callable[[str], None] = field(default=lambda _msg: None)
    # Interfaces an earlier concern's plan will create before the later ones apply (the lab
    # makes a new member's port): a later plan counts them as present.
    planned_links: set[str] = field(default_factory=set)

    @property
    def state_dir(self) -> Path:
        """The state directory (``target.state_dir``)."""
        return self.target.state_dir

    @property
    def netns(self) -> str | None:
        """The appliance namespace in the lab; None = this host (``target.netns``)."""
        return self.target.netns

    @property
    def etc_dir(self) -> Path:
        """Installed (running) rendered files."""
        return self.target.etc_dir

    @property
    def run_dir(self) -> Path:
        """Sockets and PID files."""
        return self.target.run_dir

    @property
    def has_system(self) -> bool:
        """Whether there is a network to reconcile (``Target.has_system``)."""
        return self.target.has_system

    def require_system_target(self) -> None:
        """Refuse to touch the host network except on the appliance image.

        On a developer machine every system change must go into a namespace (the lab's); the
        host's own interfaces, routes and firewall are never ours to change.
        """
        self.target.require_system()


class Concern(ABC):
    """One part of the appliance, configured from the model."""

    name: ClassVar[str]

    @abstractmethod
    def render(self, cfg: IXPConfig) -> list[RenderedFile]:
        """Files for ``cfg``. Pure: no I/O, no clock; same input, same bytes."""

    def verify(self, cfg: IXPConfig, staged: Path) -> None:  # noqa: B027 (optional hook)
        """Check the rendered files in ``staged`` with the real tools; raise ``VerifyError``."""

    def plan(self, cfg: IXPConfig, ctx: ApplyContext) -> list[Change]:
        """Changes to the running system beyond installing files (netlink, daemons)."""
        return []

    def apply(self, cfg: IXPConfig, ctx: ApplyContext, changed_files: list[str]) -> None:  # noqa: B027
        """Reconcile the running system to ``cfg``; idempotent. ``changed_files`` were installed."""
