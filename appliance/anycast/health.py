"""The anycast helper: announce a service prefix only while its service really answers.

A ``HealthChecker`` probes the service every ``interval`` seconds. After ``rise`` successes in a
row it is *up* and the prefixes are announced; after ``fall`` failures in a row it is *down* and
they are withdrawn. The announce/withdraw itself is a callback (the runner wires it to BIRD), so
this module knows nothing about BIRD. A callback that fails is retried at the next check, so
BIRD always ends up where the health says it should be.

State and transitions are plain data (``status()``) for the UI, /metrics and SNMP, and every
transition is logged.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from appliance.anycast.names import protocol_name  # noqa: F401 (re-exported)
from appliance.anycast.render import (  # noqa: F401 (the file's names, re-exported)
    CHECKERS_FILE,
    CheckSpec,
    checker_specs,
    load_checkers,
    parse_checkers,
    render_checkers,
)
from appliance.platform.target import Target
from appliance.resolver.probe import ProbeResult, dig_probe

# The model only to render the helper's file: the resident helper reads that file, not the
# whole configuration (issue 14: the model's modules alone are some 22 MiB).
if TYPE_CHECKING:
    from appliance.config.model import IXPConfig

log = logging.getLogger(__name__)

State = Literal["unknown", "up", "down"]
Action = Literal["announce", "withdraw"]
ProbeFn = Callable[[], ProbeResult]
# Called with the action and the prefixes it is about; raises if it could not be done.
AnnounceFn = Callable[[Action, tuple[str, ...]], None]


@dataclass(frozen=True)
class Transition:
    """One change of state, kept for the UI and logged."""

    at: str  # UTC, ISO 8601
    old: State
    new: State
    reason: str


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class HealthChecker:
    """Rise/fall state machine for one service, driving announce/withdraw of its prefixes."""

    def __init__(self, name: str, prefixes: Sequence[str], probe: ProbeFn,
                 on_change: AnnounceFn, *, interval: float = 10, rise: int = 2,
                 fall: int = 2, history: int = 20,
                 after_step: Callable[[], None] | None = None) -> None:
        if rise < 1 or fall < 1 or interval <= 0:
            raise ValueError("rise and fall must be at least 1 and interval positive")
        self.name = name
        self.prefixes = tuple(prefixes)
        self.probe = probe
        self.on_change = on_change
        self.after_step = after_step  # e.g. publish the state at once
        self.interval, self.rise, self.fall = interval, rise, fall
        self.state: State = "unknown"
        self.successes = 0  # in a row
        self.failures = 0  # in a row
        self.checks_total = 0
        self.failures_total = 0
        self.transitions_total = 0
        self.last_result: ProbeResult | None = None
        self.last_check_at: str | None = None
        self.applied: Action | None = None  # what the callback last did successfully
        self.callback_error: str | None = None
        self.history: deque[Transition] = deque(maxlen=history)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the state machine -----------------------------------------------------------------

    def step(self) -> Transition | None:
        """Probe once, update the counters and state, and reconcile the announcement."""
        result = self.probe()
        with self._lock:
            self.checks_total += 1
            self.last_result = result
            self.last_check_at = _now_iso()
            if result.ok:
                self.successes, self.failures = self.successes + 1, 0
            else:
                self.successes, self.failures = 0, self.failures + 1
                self.failures_total += 1
            transition = self._maybe_transition(result)
        self._reconcile()
        if self.after_step is not None:
            self.after_step()
        return transition

    def _maybe_transition(self, result: ProbeResult) -> Transition | None:
        new: State | None = None
        if self.state != "up" and self.successes >= self.rise:
            new, reason = "up", f"{self.successes} successful checks in a row"
        elif self.state != "down" and self.failures >= self.fall:
            new, reason = "down", f"{self.failures} failed checks in a row ({result.detail})"
        if new is None:
            return None
        t = Transition(_now_iso(), self.state, new, reason)
        self.state = new
        self.transitions_total += 1
        self.history.append(t)
        log.warning("anycast %s: %s -> %s after %s; %s %s", self.name, t.old, t.new, reason,
                    "announcing" if new == "up" else "withdrawing", ", ".join(self.prefixes))
        return t

    def desired(self) -> Action | None:
        """What BIRD should be doing now (None while the state is still unknown)."""
        return {"up": "announce", "down": "withdraw"}.get(self.state)  # type: ignore[return-value]

    def _reconcile(self) -> None:
        want = self.desired()
        if want is None or want == self.applied:
            return
        try:
            self.on_change(want, self.prefixes)
        except Exception as exc:  # retried at the next check; the reason is shown
            self.callback_error = f"{want} failed: {exc}"
            log.error("anycast %s: %s of %s failed: %s (will retry)", self.name, want,
                      ", ".join(self.prefixes), exc)
            return
        self.applied, self.callback_error = want, None
        log.info("anycast %s: %s done for %s", self.name, want, ", ".join(self.prefixes))

    def resync(self) -> None:
        """Send the current decision again at the next check.

        Call after BIRD was restarted or reconfigured: that may have reset the static
        protocol to its configured state behind the checker's back.
        """
        with self._lock:
            self.applied = None

    # -- running ---------------------------------------------------------------------------

    def run(self) -> None:
        """Check every ``interval`` seconds until :meth:`stop`."""
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.step()
            except Exception:  # a broken probe must not end the helper
                log.exception("anycast %s: check failed unexpectedly", self.name)
            self._stop.wait(max(0.0, self.interval - (time.monotonic() - started)))

    def start(self) -> None:
        """Run in a daemon thread."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, name=f"anycast-{self.name}",
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10) -> None:
        """Stop the thread. The announcement is left as it is: the caller decides."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    # -- what the UI, /metrics and SNMP read -------------------------------------------------

    def status(self) -> dict[str, object]:
        """The current state as plain data (JSON-ready)."""
        with self._lock:
            return {
                "name": self.name,
                "prefixes": list(self.prefixes),
                "state": self.state,
                "announced": self.applied == "announce",
                "desired": self.desired(),
                "successes_in_a_row": self.successes,
                "failures_in_a_row": self.failures,
                "interval": self.interval, "rise": self.rise, "fall": self.fall,
                "checks_total": self.checks_total,
                "failures_total": self.failures_total,
                "transitions_total": self.transitions_total,
                "last_check_at": self.last_check_at,
                "last_result": asdict(self.last_result) if self.last_result else None,
                "callback_error": self.callback_error,
                "transitions": [asdict(t) for t in self.history],
            }

    def metrics(self) -> dict[str, float]:
        """Numeric gauges and counters (for /metrics and the SNMP agent)."""
        with self._lock:
            return {
                "up": 1.0 if self.state == "up" else 0.0,
                "announced": 1.0 if self.applied == "announce" else 0.0,
                "checks_total": float(self.checks_total),
                "failures_total": float(self.failures_total),
                "transitions_total": float(self.transitions_total),
                "last_rtt_ms": self.last_result.rtt_ms if self.last_result else 0.0,
            }


def checkers_from_specs(specs: Sequence[CheckSpec], on_change: AnnounceFn,
                        target: Target | None = None,
                        after_step: Callable[[], None] | None = None) -> list[HealthChecker]:
    """One ``HealthChecker`` per check, probing its server with dig from ``target``'s
    namespace (None: this host)."""
    out: list[HealthChecker] = []
    for spec in specs:
        def probe(server: str = spec.server, name: str = spec.query_name,
                  timeout: int = spec.timeout) -> ProbeResult:
            return dig_probe(server, name, timeout=timeout, target=target)

        out.append(HealthChecker(spec.prefix, [spec.prefix], probe, on_change,
                                 interval=spec.interval, rise=spec.rise, fall=spec.fall,
                                 after_step=after_step))
    return out


def checkers_from_config(cfg: IXPConfig, on_change: AnnounceFn,
                         target: Target | None = None,
                         after_step: Callable[[], None] | None = None) -> list[HealthChecker]:
    """The checkers of ``cfg`` (see ``checker_specs``)."""
    return checkers_from_specs(checker_specs(cfg), on_change, target, after_step)


class CheckerSet:
    """All checkers of a configuration, kept in step with it by the runner.

    ``update(specs)`` after every applied revision: checkers whose prefix and check settings
    are unchanged keep running (and keep their state); others are stopped or started.
    """

    def __init__(self, on_change: AnnounceFn, target: Target | None = None,
                 after_step: Callable[[], None] | None = None) -> None:
        self.on_change = on_change
        self.target = target
        self.after_step = after_step
        self._checkers: dict[CheckSpec, HealthChecker] = {}

    def update(self, specs: Sequence[CheckSpec]) -> None:
        """Run exactly the checks ``specs`` asks for."""
        wanted: dict[CheckSpec, HealthChecker] = {}
        new = [s for s in specs if s not in self._checkers]
        made = dict(zip(new, checkers_from_specs(new, self.on_change, self.target,
                                                 self.after_step), strict=True))
        for spec in specs:
            wanted[spec] = self._checkers.get(spec) or made[spec]
        for key, hc in self._checkers.items():
            if key not in wanted:
                hc.stop()
        for hc in wanted.values():
            hc.start()
        self._checkers = wanted

    def stop(self) -> None:
        """Stop every checker (runner shutdown); announcements are left to BIRD's own end."""
        for hc in self._checkers.values():
            hc.stop()
        self._checkers = {}

    def checkers(self) -> list[HealthChecker]:
        """The running checkers, in configuration order."""
        return list(self._checkers.values())

    def statuses(self) -> list[dict[str, object]]:
        """Every checker's :meth:`HealthChecker.status`, for the UI, /metrics and SNMP."""
        return [hc.status() for hc in self._checkers.values()]

    def resync(self) -> None:
        """After a BIRD restart or reconfigure: re-send every checker's decision."""
        for hc in self._checkers.values():
            hc.resync()
