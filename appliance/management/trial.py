"""The trial of a new management address: applied at once, kept only once confirmed.

As LuCI does for its network settings: a change that could cut the operator off (a static
address, another NIC) runs on trial; it must be confirmed from the new address within
``management.trial_seconds``, or the box goes back to the last confirmed addresses by itself
(and at the next boot, if it was powered off meanwhile). Everything else of the revision stays.

Records live in ``<state>/management/``: ``confirmed.json`` (the addresses that reached an
operator) and ``trial.json`` (the pending trial). Both are written atomically.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from appliance.config.loader import config_from_data
from appliance.config.model import IXPConfig
from appliance.management.render import AddressPlan
from appliance.util.atomic import atomic_write


class TrialError(ValueError):
    """A confirmation that cannot be accepted; the message says what to do."""


@dataclass(frozen=True)
class Trial:
    """A pending trial of ``new`` addresses; ``previous`` is what a revert goes back to."""

    id: str
    new: AddressPlan
    previous: AddressPlan
    started: float
    deadline: float

    def seconds_left(self, now: float | None = None) -> int:
        """Whole seconds until the revert (0 when due)."""
        return max(0, int(self.deadline - (time.time() if now is None else now)))

    def confirm_urls(self) -> list[str]:
        """Where the operator confirms: the new fixed addresses (empty with DHCP)."""
        urls = []
        for addr in self.new.static_addresses():
            host = f"[{addr}]" if ":" in addr else addr
            urls.append(f"https://{host}/management")
        return urls

    def as_dict(self) -> dict[str, object]:
        """JSON form, also for the web UI and ``ixpctl management status --json``."""
        return {"id": self.id, "new": self.new.as_dict(), "previous": self.previous.as_dict(),
                "started": self.started, "deadline": self.deadline,
                "seconds_left": self.seconds_left(), "confirm_urls": self.confirm_urls(),
                "new_in_words": self.new.describe(),
                "previous_in_words": self.previous.describe()}


def _dir(state_dir: Path) -> Path:
    return state_dir / "management"


def _read_json(path: Path) -> dict[str, object] | None:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def confirmed(state_dir: Path) -> AddressPlan | None:
    """The addresses last confirmed (or applied without a trial), if recorded."""
    data = _read_json(_dir(state_dir) / "confirmed.json")
    try:
        return AddressPlan.from_dict(data) if data else None
    except (KeyError, TypeError):
        return None


def record_confirmed(state_dir: Path, plan: AddressPlan) -> None:
    """Remember ``plan`` as the addresses that reach the operator (readable by the web UI,
    which runs as a user of its own: addresses are not secret)."""
    atomic_write(_dir(state_dir) / "confirmed.json",
                 json.dumps(plan.as_dict(), sort_keys=True).encode("utf-8"), 0o644)


def pending(state_dir: Path) -> Trial | None:
    """The trial running now, if any."""
    data = _read_json(_dir(state_dir) / "trial.json")
    if not data:
        return None
    try:
        new, previous = data["new"], data["previous"]
        if not isinstance(new, dict) or not isinstance(previous, dict):
            return None
        return Trial(str(data["id"]), AddressPlan.from_dict(new),
                     AddressPlan.from_dict(previous), float(data["started"]),  # type: ignore[arg-type]
                     float(data["deadline"]))  # type: ignore[arg-type]
    except (KeyError, TypeError, ValueError):
        return None


def arm(state_dir: Path, new: AddressPlan, previous: AddressPlan, seconds: int,
        now: float | None = None) -> Trial:
    """Start a trial of ``new`` (replacing a running one; ``previous`` stays the way back)."""
    started = time.time() if now is None else now
    trial = Trial(secrets.token_hex(4), new, previous, started, started + seconds)
    atomic_write(_dir(state_dir) / "trial.json",
                 json.dumps({k: v for k, v in trial.as_dict().items()
                             if k in ("id", "new", "previous", "started", "deadline")},
                            sort_keys=True).encode("utf-8"), 0o644)
    return trial


def clear(state_dir: Path) -> None:
    """End the trial record (confirmed, reverted, or superseded by the confirmed addresses)."""
    (_dir(state_dir) / "trial.json").unlink(missing_ok=True)


def confirm(state_dir: Path, reached_at: str | None) -> Trial:
    """Keep the trial's addresses: the request proving they work arrived at ``reached_at``.

    With a fixed new address the confirmation must come through it (that is the proof); with
    DHCP any address of the box will do. Raises ``TrialError`` otherwise.
    """
    trial = pending(state_dir)
    if trial is None:
        raise TrialError("no management address is on trial; nothing to confirm")
    wanted = trial.new.static_addresses()
    if wanted and not _same_address(reached_at, wanted):
        raise TrialError(
            f"confirm from the new address: open {trial.confirm_urls()[0]} (this page was "
            f"reached through {reached_at or 'another address'}, which proves nothing about "
            "the new one)")
    record_confirmed(state_dir, trial.new)
    clear(state_dir)
    return trial


def _same_address(reached_at: str | None, wanted: list[str]) -> bool:
    if not reached_at:
        return False
    try:
        got = ipaddress.ip_address(reached_at.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(got, ipaddress.IPv6Address) and got.ipv4_mapped:
        got = got.ipv4_mapped
    return any(got == ipaddress.ip_address(w) for w in wanted)


def revert_candidate(cfg: IXPConfig, plan: AddressPlan) -> IXPConfig:
    """``cfg`` with its management addresses put back to ``plan``; everything else kept."""
    data = cfg.model_dump(mode="json", exclude_defaults=True)  # as dump_config does
    data.setdefault("management", {}).update(plan.as_dict())
    return config_from_data(data)
