"""stayrtr on the box: serves an imported VRP file to the route server over RTR (offline-capable).

The operator exports validated ROAs elsewhere (rpki-client or Routinator JSON) and imports the
file; the route server's RPKI validator entry pointing at this box's loopback (127.0.0.1:3323
by default) then gets its data from here.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path

from appliance.bird.rtr import stayrtr_argv
from appliance.config.model import IXPConfig
from appliance.lab import netns as lab_netns
from appliance.pipeline.concern import ApplyContext
from appliance.util.atomic import atomic_write

VRP_FILE = "rpki/vrps.json"
LOCAL_HOSTS = ("127.0.0.1", "::1", "localhost")


def vrp_path(state_dir: Path) -> Path:
    """Where the imported VRP file lives."""
    return state_dir / VRP_FILE


def check_vrps(text: str) -> int:
    """Validate a VRP export; returns how many ROAs it holds or raises ``ValueError``."""
    data = json.loads(text)
    roas = data.get("roas") if isinstance(data, dict) else None
    if not isinstance(roas, list) or not roas:
        raise ValueError("no 'roas' list: export it from rpki-client or Routinator as JSON")
    for i, roa in enumerate(roas):
        if not isinstance(roa, dict) or not {"prefix", "asn"} <= set(roa):
            raise ValueError(f"roas[{i}] needs 'prefix' and 'asn'")
    return len(roas)


def import_vrps(state_dir: Path, source: Path) -> int:
    """Check and install a VRP file (atomically); returns the number of ROAs."""
    text = source.read_text("utf-8")
    count = check_vrps(text)
    atomic_write(vrp_path(state_dir), text.encode("utf-8"), 0o644)
    return count


def local_validator(cfg: IXPConfig) -> str | None:
    """``host:port`` of a validator entry on this box, if the config has one."""
    for v in cfg.route_server.rpki_validators:
        if v.host in LOCAL_HOSTS:
            host = "[::1]" if v.host == "::1" else "127.0.0.1"
            return f"{host}:{v.port}"
    return None


class RpkiService:
    """Runs stayrtr while the runner runs, when a local validator is configured and VRPs exist."""

    name = "rpki"

    def __init__(self, state_dir: Path, netns: str | None, cfg: IXPConfig | None) -> None:
        self.ctx = ApplyContext(Path(state_dir), netns)
        self.bind = local_validator(cfg) if cfg else None
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start stayrtr if there is something to serve, where there is a network of ours."""
        vrps = vrp_path(self.ctx.state_dir)
        if not self.bind or not vrps.exists() or not self.ctx.has_system:
            return
        argv = stayrtr_argv(vrps, bind=self.bind, metrics="127.0.0.1:9847")
        if self.ctx.netns:
            argv = lab_netns.command(self.ctx.netns, argv)
        self.ctx.run_dir.mkdir(parents=True, exist_ok=True)
        with open(self.ctx.run_dir / "stayrtr.log", "ab") as log:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        self._wait_listening()

    def _wait_listening(self, timeout: float = 15.0) -> None:
        # BIRD retries a refused RTR connection only after 90 s, so BIRD must not start
        # before stayrtr accepts connections.
        port = self.bind.rsplit(":", 1)[1] if self.bind else ""
        argv = ["ss", "-ltnH", f"sport = :{port}"]
        if self.ctx.netns:
            argv = lab_netns.command(self.ctx.netns, argv)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc and self.proc.poll() is None:
            out = subprocess.run(argv, capture_output=True, text=True, timeout=5, check=False)
            if out.stdout.strip():
                return
            time.sleep(0.1)

    def stop(self) -> None:
        """Stop the stayrtr this service started."""
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while self.proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
