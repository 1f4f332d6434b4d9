"""The resolver's labs: the example configuration, the fixture root zone, ``dig`` from a
namespace, and the demo's lab (``NetLab.config_lab``) with the resolver applied and running.

Shared by the resolver, anycast and alert tests and bench/anycast_failover.py. The fixture root
is a data file of the tests (tests/fixtures/dns/root.zone), read by path, never imported.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from appliance.bridge.concern import BridgeConcern
from appliance.config.model import IXPConfig
from appliance.lab.lab import LabState
from appliance.pipeline.core import CoreConcern
from appliance.pipeline.run import Outcome, Pipeline
from appliance.platform import netns
from appliance.platform.target import Target
from appliance.resolver.concern import ResolverConcern, stop_resolver
from appliance.resolver.daemon import running_pid
from appliance.resolver.paths import UnboundPaths
from appliance.resolver.render import RenderOptions, RootZone
from labkit import netlab

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "small-island.yaml"


def example_data() -> dict:
    """The example as plain data, to change before loading."""
    return yaml.safe_load(EXAMPLE.read_text())


FIXTURE_ROOT = REPO / "tests" / "fixtures" / "dns" / "root.zone"
# A name only the fixture root knows, and its address.
FIXTURE_NAME, FIXTURE_ADDR = "www.island.example.", "192.0.2.80"


def fixture_options(**root_kwargs: object) -> RenderOptions:
    """Render options serving the unsigned fixture root, validation off: tests only."""
    kwargs = {"primaries": (), "zonemd_check": False, "seed": str(FIXTURE_ROOT), **root_kwargs}
    return RenderOptions(root_zone=RootZone(**kwargs), trust_anchor=None)


@dataclass
class ResolverLab:
    """What a test needs: the config, the lab, the state dir and the resolver concern."""

    cfg: IXPConfig
    data: dict
    state: LabState
    state_dir: Path
    concern: ResolverConcern

    @property
    def paths(self) -> UnboundPaths:
        """The resolver's files."""
        return UnboundPaths(self.state_dir)

    def pid(self) -> int | None:
        """unbound's PID, if it runs."""
        return running_pid(self.paths)

    def apply(self, data: dict) -> Outcome:
        """Run the pipeline (core, bridge, resolver) on changed config data."""
        pipeline = Pipeline(Target(self.state_dir, self.state.appliance_netns),
                            concerns=[CoreConcern(), BridgeConcern(), self.concern])
        return pipeline.run(yaml.safe_dump(data), author="test")


def dig(ns: str, server: str, name: str, *extra: str) -> subprocess.CompletedProcess[str]:
    """``dig`` from namespace ``ns``: short timeouts, one try, never anything but ``server``."""
    return netns.run(ns, ["dig", f"@{server}", name, "+time=2", "+tries=1", *extra],
                     check=False, timeout=20)


def status_of(out: str) -> str:
    """The rcode from dig's header line (NOERROR, REFUSED, SERVFAIL, ...)."""
    for line in out.splitlines():
        if "status:" in line:
            return line.split("status:")[1].split(",")[0].strip()
    return "no answer"


def unbound_pids() -> set[int]:
    """The PIDs of every unbound on this machine (a check that ours is gone)."""
    out = subprocess.run(["pgrep", "-x", "unbound"], capture_output=True, text=True).stdout
    return {int(p) for p in out.split()}


def in_root_netns(pid: int) -> bool:
    """Whether ``pid`` runs in this (the host's) network namespace."""
    return os.readlink(f"/proc/{pid}/ns/net") == os.readlink("/proc/self/ns/net")


@contextlib.contextmanager
def resolver_lab(data: dict, state_dir: Path, options: RenderOptions) -> Iterator[ResolverLab]:
    """Bring the lab up, apply the config with the resolver; remove everything afterwards."""
    from appliance.config.loader import load_config_text

    cfg = load_config_text(yaml.safe_dump(data))
    pids: list[int | None] = []
    with netlab.session(state_dir / "netlab", "ixt") as net:
        state = net.config_lab(cfg, state_dir)
        lab = ResolverLab(cfg, data, state, state_dir, ResolverConcern(options))
        net.on_close(lambda: stop_resolver(state_dir))
        net.on_close(lambda: pids.append(lab.pid()))  # runs first: unbound's last PID
        out = lab.apply(data)
        assert out.ok, out.error
        pids.append(lab.pid())
        yield lab
    pid = next((p for p in reversed(pids) if p), None)
    assert pid is None or pid not in unbound_pids(), "unbound must be stopped"
