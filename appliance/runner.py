"""Run the appliance's services in the foreground from a state dir (``ixpctl up``).

On the image systemd runs each service; on a dev machine this runner does: the web UI, the
collector and the timers' jobs in one process, stopped on Ctrl-C or SIGTERM. The daemons
(BIRD, stayrtr, unbound, the anycast helper, the SNMP agent) are started by the applies and
belong to the state directory; the runner only starts again one that died (``supervise``).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Protocol

# The services are imported where they are made: ``ixpctl run collector`` and ``run web``
# take one class each from here, and the others' modules would stay resident in them.
if TYPE_CHECKING:
    from werkzeug.serving import BaseWSGIServer

    from appliance.alerts.engine import AlertEngine
    from appliance.pipeline.run import Outcome
    from appliance.platform.target import Target

log = logging.getLogger(__name__)
# How often the runner looks for a daemon that died (BIRD, stayrtr, the anycast helper, the
# SNMP agent) and starts it again.
SUPERVISE_SECONDS = 5.0


class WebService:
    """The Flask app on a threaded WSGI server (dev: plain HTTP on loopback only)."""

    name = "web"

    def __init__(self, target: Target, host: str, port: int) -> None:
        self.target, self.host, self.port = target, host, port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Where the UI answers."""
        port = self._server.server_port if self._server else self.port
        return f"http://{self.host}:{port}/"

    def start(self) -> None:
        """Bind and serve in a background thread."""
        from werkzeug.serving import make_server

        from appliance.web import create_app

        self._server = make_server(self.host, self.port,
                                   create_app(self.target),
                                   threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name="web",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


class RefreshService:
    """The route server's data refresh on the timer's schedule, for a lab (on the image the
    ``ixp-data-refresh.timer`` runs ``ixpctl data refresh --due``).

    Every ``check_every`` seconds it runs ``box.refresh_data(only_due=True)``: the same
    intervals (``route_server.refresh``) and the same record of attempts as the timer. A lab
    starts with its own data, so a source never refreshed is first due one interval after
    the start.
    """

    name = "refresh"

    def __init__(self, target: Target, check_every: float = 300.0) -> None:
        self.target, self.check_every = target, check_every
        self.state_dir = target.state_dir
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.started_at: datetime | None = None

    def check(self) -> None:
        """One round: refresh what is due (a failure is recorded, never raised)."""
        from appliance.box import refresh_data

        try:
            report = refresh_data(self.target, only_due=True,
                                  since=self.started_at)
        except Exception:  # the next round tries again; the runner's other services go on
            log.exception("data refresh failed")
            return
        if report.sources:
            log.info("data refresh (%s): %s", ", ".join(report.sources), report.message)

    def _loop(self) -> None:
        while not self._stop.wait(self.check_every):
            self.check()

    def start(self) -> None:
        """Check in a background thread."""
        self.started_at = datetime.now(UTC)
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="refresh", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop checking (a refresh under way finishes first)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)


class ReportMailService:
    """The members' monthly report card mail, for a lab (on the image the daily
    ``ixp-report-mail.timer`` runs ``ixpctl report mail --due``).

    Every ``check_every`` seconds it sends the past month's report to each member that has
    not had it yet (``alerts/monthly.py``: the same record as the timer, so it never sends
    twice, and a failed delivery is tried again at the next check).
    """

    name = "report-mail"

    def __init__(self, target: Target, check_every: float = 3600.0) -> None:
        self.target, self.check_every = target, check_every
        self.state_dir = target.state_dir
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check(self) -> list[dict[str, object]]:
        """One round: send what is due (a failure is recorded and logged, never raised); what
        each member's report became."""
        from appliance.alerts import monthly
        from appliance.config.committed import committed_config
        from appliance.web.report_mail import composer

        try:
            cfg = committed_config(self.state_dir)
            if cfg is None or monthly.mail_off(cfg):
                return []
            outcomes = monthly.run(self.target, cfg, composer(cfg.identity.language))
        except Exception:  # the next round tries again; the runner's other services go on
            log.exception("monthly report mail failed")
            return []
        return [o.as_dict() for o in outcomes]

    def _loop(self) -> None:
        while not self._stop.wait(self.check_every):
            self.check()

    def start(self) -> None:
        """Check in a background thread."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="report-mail", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop checking (a round under way finishes first)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)


def check_dev_listen(host: str) -> None:
    """Plain HTTP is only for loopback; the image serves HTTPS on the management address."""
    if host not in ("127.0.0.1", "::1", "localhost"):
        raise ValueError(f"--listen {host}: the development runner serves plain HTTP and only "
                         "on 127.0.0.1; the image serves HTTPS on the management address")


def member_ports(state_dir: Path) -> set[str]:
    """The member ports of the committed configuration (what the collector samples)."""
    from appliance.monitor.targets import TargetsFile

    return set(TargetsFile(state_dir).get().ports)


class Service(Protocol):
    """What the runner starts and stops."""

    name: str

    def start(self) -> None:
        """Start; return once running."""

    def stop(self) -> None:
        """Stop; safe to call twice."""


def alert_engine(target: Target) -> AlertEngine:
    """The alert engine the collector runs after each round, with what only the composition
    may read (the firmware's last update) given to it."""
    from appliance.alerts.engine import AlertEngine, ifindex_reader
    from appliance.firmware import records

    return AlertEngine(target, has_system=target.has_system,
                       firmware=lambda: records.read(target.state_dir, records.LAST),
                       ifindex=ifindex_reader(target.state_dir))


class Runner:
    """Starts every service, waits for a stop signal, stops them in reverse order."""

    def __init__(self, target: Target, *, host: str = "127.0.0.1",
                 port: int = 8080, sample_interval: float = 60.0,
                 snmp_port: int = 1161, refresh_every: float = 300.0) -> None:
        from appliance.anycast.service import AnycastService
        from appliance.monitor.collector import Collector
        from appliance.monitor.store import SampleStore, samples_path
        from appliance.route_server.rpki_service import RpkiService
        from appliance.route_server.service import RouteServerService
        from appliance.snmp.service import SnmpService

        check_dev_listen(host)
        self.target = target
        self.state_dir = state_dir = target.state_dir
        from appliance.box import build_pipeline  # heavy: only when changing
        self.pipeline = build_pipeline(target)
        self.web = WebService(target, host, port)
        self.services: list[Service] = []
        if target.has_system:
            # the daemons the apply started, supervised: started again should one die
            self.services.append(RpkiService(target))
            self.services.append(RouteServerService(target))
            # the anycast helper after BIRD: it switches BIRD's announcements
            self.services.append(AnycastService(target))
            # the SNMP agent on loopback beside the web UI, on the port given here
            self.services.append(SnmpService(target, host=host, port=snmp_port))
            store = SampleStore(samples_path(state_dir))
            # the collector follows its rendered file (the member ports) by itself
            self.services.append(Collector(store, target, interval=sample_interval,
                                           after_round=[alert_engine(target).round]))
            # the route server's IRR and PeeringDB data, on the image's timer schedule
            self.services.append(RefreshService(target, check_every=refresh_every))
            # the members' monthly report cards, on the image timer's daily schedule
            self.services.append(ReportMailService(target))
        self.services.append(self.web)
        self.stopping = threading.Event()
        self.supervise_every = SUPERVISE_SECONDS

    def restore(self) -> Outcome:
        """Bring the running system back to the committed revision before serving."""
        return self.pipeline.reapply_latest(author="runner")

    def start(self) -> None:
        """Start every service; on failure stop the ones already started."""
        started = []
        try:
            for svc in self.services:
                svc.start()
                started.append(svc)
        except Exception:
            for svc in reversed(started):
                svc.stop()
            raise

    def stop(self) -> None:
        """Stop every service (safe to call twice)."""
        for svc in reversed(self.services):
            try:
                svc.stop()
            except Exception:  # stop the others regardless
                log.exception("stopping %s failed", svc.name)

    def install_signal_handlers(self) -> None:
        """Ctrl-C and SIGTERM end the run cleanly."""
        def handler(_sig: int, _frame: FrameType | None) -> None:
            self.stopping.set()
        signal.signal(signal.SIGINT, handler)
        signal.signal(signal.SIGTERM, handler)

    def serve(self, on_ready: Callable[[str], None] | None = None) -> None:
        """Start, report the URL, block until stopped, then stop."""
        self.start()
        try:
            if on_ready:
                on_ready(self.web.url)
            last = time.monotonic()
            while not self.stopping.wait(0.5):
                if time.monotonic() - last >= self.supervise_every:
                    self.supervise()
                    last = time.monotonic()
        finally:
            self.stop()

    def supervise(self) -> None:
        """Start again what died: the daemons are started by their concern's apply (the
        lifecycle rule in docs/design/architecture.md); the runner only watches them."""
        for svc in self.services:
            check = getattr(svc, "check", None)
            if check is None:
                continue
            try:
                check()
            except Exception:  # the next round tries again; the other services go on
                log.exception("supervising %s failed", svc.name)
