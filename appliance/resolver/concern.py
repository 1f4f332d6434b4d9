"""``ResolverConcern``: unbound in the change pipeline (render → checkconf → start/reload)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from appliance.config.model import IXPConfig
from appliance.pipeline.concern import ApplyContext, Change, Concern, RenderedFile, VerifyError
from appliance.platform.target import Target, as_target
from appliance.resolver import daemon
from appliance.resolver.paths import CONF, UnboundPaths
from appliance.resolver.render import RenderOptions, render_unbound


class ResolverConcern(Concern):
    """The members' resolver: one unbound in the appliance namespace (or on the image host)."""

    name = "resolver"

    def __init__(self, options: RenderOptions | None = None) -> None:
        self.options = options or RenderOptions()
        # What the last apply did ("start", "reload", "stop" or ""), for logs and tests.
        self.last_action = ""

    def render(self, cfg: IXPConfig) -> list[RenderedFile]:
        """``unbound/unbound.conf`` when the resolver is enabled, nothing otherwise. Pure."""
        if not cfg.services.resolver.enabled:
            return []
        return [RenderedFile(CONF, render_unbound(cfg, self.options).encode("utf-8"))]

    def verify(self, cfg: IXPConfig, staged: Path) -> None:
        """``unbound-checkconf`` on the staged file, with a scratch launch file and anchor."""
        if not cfg.services.resolver.enabled:
            return
        with tempfile.TemporaryDirectory(prefix="unbound-check-", dir=staged) as scratch:
            paths = UnboundPaths(Path(scratch))
            try:
                daemon.prepare(paths, self.options)
                launch = paths.run_dir / "check.conf"
                launch.write_text(daemon.launch_text(paths, conf=staged / CONF))
                daemon.checkconf(launch, paths.data_dir)
            except daemon.UnboundError as exc:
                msg = str(exc).replace(str(staged) + "/", "")
                raise VerifyError(f"unbound refuses the resolver configuration: {msg}") from None

    def plan(self, cfg: IXPConfig, ctx: ApplyContext) -> list[Change]:
        """Starting or stopping unbound; a reload follows from the file change itself."""
        if not ctx.has_system:
            return []  # config only: no namespace to run unbound in
        running = daemon.running_pid(UnboundPaths(ctx.state_dir)) is not None
        where = f"in {ctx.netns}" if ctx.netns else "on this host"
        if cfg.services.resolver.enabled and not running:
            return [Change(self.name, "add", "unbound process", f"start {where}")]
        if not cfg.services.resolver.enabled and running:
            return [Change(self.name, "remove", "unbound process", f"stop {where}")]
        return []

    def apply(self, cfg: IXPConfig, ctx: ApplyContext, changed_files: list[str]) -> None:
        """Start unbound if it is not running, reload it if its file changed; else nothing.

        A change of where it listens is a restart: unbound keeps its sockets over a reload.
        """
        self.last_action = ""
        if not ctx.has_system:
            return
        paths = UnboundPaths(ctx.state_dir)
        if not cfg.services.resolver.enabled:
            if daemon.stop(paths, ctx.target):
                self.last_action = "stop"
                ctx.log("resolver: stopped unbound (the resolver is disabled)")
            return
        try:
            daemon.prepare(paths, self.options)
            listening = listen_signature(paths.conf.read_text())
            if daemon.running_pid(paths) is None:
                self._start(paths, ctx, listening)
            elif CONF in changed_files:
                if _recorded(paths) != listening:
                    # unbound keeps its sockets across a reload: new addresses need a restart
                    daemon.stop(paths, ctx.target)
                    self._start(paths, ctx, listening)
                    self.last_action = "restart"
                else:
                    daemon.reload(paths)
                    self.last_action = "reload"
                    ctx.log("resolver: reloaded unbound")
        except daemon.UnboundError as exc:
            raise RuntimeError(f"resolver: {exc}") from None

    def _start(self, paths: UnboundPaths, ctx: ApplyContext, listening: str) -> None:
        pid = daemon.start(paths, ctx.target)
        paths.listen_record.write_text(listening)
        self.last_action = "start"
        ctx.log(f"resolver: started unbound (pid {pid})")


def listen_signature(conf_text: str) -> str:
    """The lines of unbound.conf that only a restart applies (where it listens)."""
    keys = ("interface:", "port:", "interface-automatic:")
    return "\n".join(sorted(line.split("#")[0].strip() for line in conf_text.splitlines()
                            if line.strip().startswith(keys))) + "\n"


def _recorded(paths: UnboundPaths) -> str | None:
    try:
        return paths.listen_record.read_text()
    except OSError:
        return None


def stop_resolver(target: Target | str | Path) -> bool:
    """Stop the resolver of ``target`` (runner shutdown, lab teardown; a bare state
    directory: this host's); True if it ran."""
    where = as_target(target)
    return daemon.stop(UnboundPaths(where.state_dir), where)
