"""The route-server concern: render bird.conf, check it with bird -p, apply it safely."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from appliance.config.model import IXPConfig
from appliance.pipeline.concern import ApplyContext, Change, Concern, RenderedFile, VerifyError
from appliance.platform import shipped
from appliance.platform.bird.control import BirdControl, BirdUnavailable
from appliance.platform.bird.replies import BirdError
from appliance.platform.launcher import Launcher
from appliance.route_server import daemon, drain
from appliance.route_server.aspa import AspaData, load_aspas
from appliance.route_server.bogons import Bogons, load_bogons
from appliance.route_server.irr import IrrData
from appliance.route_server.irr_fetch import load_cache
from appliance.route_server.peeringdb import NeverViaRs, dump_path, load_never_via_rs
from appliance.route_server.render import render_bird
from appliance.route_server.rpki_service import STAYRTR_LISTEN, local_validator, vrp_path
from appliance.route_server.rpki_service import ensure_running as ensure_stayrtr
from appliance.route_server.rpki_service import sync as sync_stayrtr
from appliance.route_server.safe_apply import GateSettings, HealthCheck, safe_configure
from appliance.route_server.service import answering
from appliance.util.atomic import atomic_write

IRR_CACHE = "irr/cache.json"
# The static protocol holding the ASPA records (templates/aspa.j2), up to its closing brace.
_ASPA_RECORDS = re.compile(r"^protocol static rs_aspa_records \{\n.*?^\}", re.M | re.S)


def aspa_records_block(text: str) -> str:
    """The ASPA records part of a rendered bird.conf ("" when it has none)."""
    m = _ASPA_RECORDS.search(text)
    return m.group(0) if m else ""


class RouteServerConcern(Concern):
    """BIRD 2 route server: one session per member address, strict import policy."""

    name = "route_server"

    def __init__(self, *, irr: IrrData | None = None, bogons: Bogons | None = None,
                 gate: GateSettings | None = None, check: HealthCheck | None = None,
                 never_via_rs: NeverViaRs | None = None, draining: bool = False,
                 aspa: AspaData | None = None) -> None:
        self.irr = irr or IrrData()
        self.aspa = aspa or AspaData()
        self.draining = draining
        self.never_via_rs = never_via_rs or NeverViaRs()
        self.bogons = bogons
        self.gate = gate or GateSettings()
        self.check = check

    @classmethod
    def from_state(cls, state_dir: Path, **kwargs: object) -> RouteServerConcern:
        """The concern with the IRR data cached (or imported) under ``state_dir/irr/`` and the
        never-via-route-servers list of the PeeringDB dump under ``state_dir/peeringdb/``, the
        ASPA records of the imported VRP file (``state_dir/rpki/vrps.json``), and draining
        while a drain is on (``appliance.route_server.drain``)."""
        kwargs.setdefault("draining", drain.current(state_dir) is not None)
        kwargs.setdefault("aspa", load_aspas(vrp_path(state_dir)))
        return cls(irr=load_cache(state_dir / IRR_CACHE),  # type: ignore[arg-type]
                   never_via_rs=load_never_via_rs(dump_path(state_dir)), **kwargs)

    def render(self, cfg: IXPConfig) -> list[RenderedFile]:
        """``bird/bird.conf``; group-readable only, as it may hold BGP passwords."""
        text = render_bird(cfg, self.bogons or load_bogons(), self.irr, self.never_via_rs,
                           drain=self.draining, aspa=self.aspa)
        # readable by BIRD once it has dropped root (-u bird), for "configure"; not by others:
        # it holds the members' MD5 passwords
        bind = local_validator(cfg)
        return [RenderedFile(daemon.CONF, text.encode("utf-8"), 0o640, group=daemon.USER),
                # where the box's stayrtr listens, for `ixpctl run stayrtr`: readable without
                # bird.conf's secrets (stayrtr needs only this)
                RenderedFile(STAYRTR_LISTEN, f"{bind or ''}\n".encode(), 0o644)]

    def verify(self, cfg: IXPConfig, staged: Path) -> None:
        """``bird -p`` on the staged file: BIRD's own parser decides."""
        conf = staged / daemon.CONF
        try:
            res = subprocess.run(shipped.wrap([daemon.bird_binary(), "-p", "-c", str(conf)]),
                                 capture_output=True, text=True, timeout=300)
        except (daemon.BirdStartError, subprocess.TimeoutExpired) as exc:
            raise VerifyError(f"cannot check the BIRD configuration: {exc}") from None
        if res.returncode != 0:
            msg = (res.stderr or res.stdout).strip().replace(str(staged) + "/", "")
            raise VerifyError(f"BIRD refuses the route-server configuration: {msg}")

    def plan(self, cfg: IXPConfig, ctx: ApplyContext) -> list[Change]:
        """Starting BIRD where this apply starts it (a lab's namespace, see ``apply``)."""
        if not self._starts_bird(ctx):
            return []
        return [Change(self.name, "add", "BIRD process", f"start in {ctx.netns}"
                       if ctx.netns else "start on this host")]

    def apply(self, cfg: IXPConfig, ctx: ApplyContext, changed_files: list[str]) -> None:
        """Make the route server's daemons match the installed files: reconfigure the running
        BIRD when bird.conf changed, and stayrtr follows where it should listen.

        Off the image (a lab's namespace) a BIRD that does not run is started here, and so is
        a stayrtr the files ask for; on the image systemd starts both (``ixp-bird.path`` once
        bird.conf exists, the units at boot), and a BIRD not yet running reads the installed
        file when it starts.
        """
        try:
            self._apply_bird(ctx, changed_files)
        finally:
            if STAYRTR_LISTEN in changed_files:
                ctx.log(sync_stayrtr(ctx.target))
            elif ensure_stayrtr(ctx.target):
                ctx.log("stayrtr: started (it was not running)")

    @staticmethod
    def _starts_bird(ctx: ApplyContext) -> bool:
        # the launcher decides: systemd's units on the image, this apply elsewhere
        return ctx.has_system and Launcher(ctx.target).spawns and not answering(ctx.target)

    def _apply_bird(self, ctx: ApplyContext, changed_files: list[str]) -> None:
        if self._starts_bird(ctx):
            pid = daemon.start_bird(ctx.target)
            # start_bird records the file it starts on, for the next change's health gate
            ctx.log(f"route server: started BIRD (PID {pid}) on {ctx.etc_dir / daemon.CONF}")
            return
        if daemon.CONF not in changed_files:
            return
        conf = ctx.etc_dir / daemon.CONF
        ctl = daemon.control_socket(ctx.target)
        if not ctl.exists():
            ctx.log(f"BIRD is not running ({ctl} missing); it will load {conf} when started")
            return
        new_text = conf.read_text()
        running = ctx.run_dir / daemon.RUNNING_COPY
        old_text = running.read_text() if running.exists() else None
        try:
            with BirdControl(ctl) as bc:
                summary = safe_configure(bc, conf, old_text, new_text, self.gate, self.check)
                if old_text is not None and (aspa_records_block(old_text)
                                             != aspa_records_block(new_text)):
                    summary += "; " + self._reverify(bc)
        except BirdUnavailable as exc:
            raise RuntimeError(f"cannot reach BIRD to apply the change: {exc}") from None
        atomic_write(running, new_text.encode("utf-8"), 0o600)
        ctx.log(summary)

    @staticmethod
    def _reverify(bc: BirdControl) -> str:
        """Have the members' routes checked again against new ASPA records.

        The filters' text is unchanged, so "configure" keeps the routes it has; BIRD's own
        "rpki reload" needs an import table, which the sessions do not keep. A route refresh
        (``reload in``) makes the members send their routes again through the filters.
        """
        try:
            bc.command('reload in "c*"')  # the member sessions (render.session_name)
        except BirdError as exc:
            return f"ASPA records changed, but BIRD refused to reload the sessions: {exc.text}"
        return "ASPA records changed: members' routes are checked again (route refresh)"

