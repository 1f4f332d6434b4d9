"""One alert round, run by the collector after its samples: read the engine's file and the
status, evaluate the rules, keep the state, deliver the events (retrying failed ones).

Nothing here may end the collector: every failure is logged and recorded, and a delivery
that fails is tried again at the next rounds (after 1, 2, 4, 8 and 16 minutes) before it is
recorded as given up.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from appliance.alerts import channels
from appliance.alerts.render import SETTINGS_FILE, parse_settings
from appliance.alerts.rules import evaluate
from appliance.alerts.snapshot import snapshot
from appliance.alerts.store import AlertStore
from appliance.platform.target import Target

log = logging.getLogger(__name__)

RETRIES = 5  # further tries after the first
BACKOFF = 60.0  # seconds before the first retry; doubled each time


def settings_path(state_dir: Path) -> Path:
    """The engine's rendered file."""
    return Path(state_dir) / "etc" / SETTINGS_FILE


def load_settings(state_dir: Path) -> dict[str, Any] | None:
    """The engine's file, or None while there is none (no configuration applied yet)."""
    try:
        return parse_settings(json.loads(settings_path(state_dir).read_text("utf-8")))
    except FileNotFoundError:
        return None


def _attempt(store: AlertStore, channel: dict[str, Any], event: dict[str, Any],
             settings: dict[str, Any], now: float, tries: int) -> str | None:
    """Send once and log it; the error text when it failed."""
    error = None
    try:
        channels.send(channel, event, settings)
    except channels.DeliveryError as exc:
        error = str(exc)
    except Exception as exc:  # a bug in a sender must not end the round
        log.exception("alerts: sending on %s failed", channel.get("id"))
        error = f"{type(exc).__name__}: {exc}"
    entry = {"time": now, "channel": channel["id"], "kind": event["kind"],
             "key": event["alert"].get("key"), "text": event["alert"].get("text", ""),
             "ok": error is None, "error": error, "try": tries}
    store.record(entry)
    if error:
        log.warning("alerts: %s: %s", channel["id"], error)
    return error


def deliver(store: AlertStore, settings: dict[str, Any], events: list[dict[str, Any]],
            now: float) -> None:
    """Send each event on every channel; queue the failures; retry the queue's due ones."""
    by_id = {c["id"]: c for c in settings.get("channels") or []}
    with store.locked():
        queue = store.deliveries()["queue"]
    due = [q for q in queue if q["next"] <= now]
    later = [q for q in queue if q["next"] > now]
    work = [(c, e, 0) for e in events for c in by_id.values()]
    work += [(by_id[q["channel"]], q["event"], q["tries"]) for q in due if q["channel"] in by_id]
    for channel, event, tries in work:
        error = _attempt(store, channel, event, settings, now, tries + 1)
        if error and tries < RETRIES:
            later.append({"channel": channel["id"], "event": event, "tries": tries + 1,
                          "next": now + BACKOFF * 2 ** tries, "error": error})
    with store.locked():
        data = store.deliveries()
        data["queue"] = later
        store.save_deliveries(data)


def send_test(state_dir: Path, channel_id: str, settings: dict[str, Any] | None = None
              ) -> str | None:
    """Send the test message on one channel now; the error text, or None when it went out.
    ``KeyError`` when there is no such channel."""
    settings = settings if settings is not None else load_settings(state_dir)
    by_id = {c["id"]: c for c in (settings or {}).get("channels") or []}
    channel = by_id[channel_id]
    now = time.time()
    return _attempt(AlertStore(state_dir), channel, channels.test_event(now), settings or {},
                    now, 1)


class AlertEngine:
    """The collector's after-round hook: one call, one alert round."""

    def __init__(self, target: Target, *, has_system: bool = True,
                 firmware: Callable[[], dict[str, Any] | None] | None = None,
                 ifindex: Callable[[], dict[str, int]] | None = None) -> None:
        self.state_dir = Path(target.state_dir)
        self.target, self.has_system = target, has_system
        self.firmware, self.ifindex = firmware, ifindex
        self.store = AlertStore(self.state_dir)
        self.rounds = 0

    def round(self, now: float | None = None) -> list[dict[str, Any]]:
        """Evaluate once and deliver; the events of this round."""
        now = time.time() if now is None else now
        settings = load_settings(self.state_dir)
        if settings is None or not settings.get("enabled", True):
            return []
        snap = snapshot(self.target, settings, now=now,
                        has_system=self.has_system, firmware=self.firmware,
                        ifindex=self.ifindex() if self.ifindex else None)
        return self.apply(snap, settings, now)

    def apply(self, snap: dict[str, Any], settings: dict[str, Any], now: float
              ) -> list[dict[str, Any]]:
        """Evaluate ``snap``, keep the state, deliver the events (and due retries)."""
        with self.store.locked():
            state, events = evaluate(self.store.state(), snap, now, settings)
            self.store.save_state(state)
        deliver(self.store, settings, events, now)
        self.rounds += 1
        return events


def ifindex_reader(state_dir: Path) -> Callable[[], dict[str, int]]:
    """The SNMP agent's stable ifIndex of each port (``snmp/ifindex.json``), read-only: the
    linkUp/linkDown traps name a port as the agent's IF-MIB does. Empty when not there."""
    path = Path(state_dir) / "snmp" / "ifindex.json"

    def read() -> dict[str, int]:
        try:
            if not os.path.exists(path):
                return {}
            raw = json.loads(path.read_text("utf-8")).get("ifindex", {})
            return {str(k): int(v) for k, v in raw.items()}
        except (OSError, ValueError, AttributeError):
            return {}
    return read
