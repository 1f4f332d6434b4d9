"""What the collector samples, in its own small file (``etc/monitor/collector.json``).

``MonitorConcern`` renders it from the model; the resident collector reads only this file, not
the whole configuration: the model's modules alone are some 22 MiB of a process that the
1 GB box runs all the time (issue 14). It holds the member ports whose counters are sampled
and, per member address, the member, to name the route server's sessions.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appliance.route_server.status import Member

if TYPE_CHECKING:
    from appliance.config.model import IXPConfig

log = logging.getLogger(__name__)

TARGETS_FILE = "monitor/collector.json"  # under the state dir's etc/


@dataclass(frozen=True)
class Targets:
    """The member ports to sample and who each member address belongs to."""

    ports: frozenset[str] = frozenset()
    members: dict[str, Member] = field(default_factory=dict)
    # the member of each MAC on the peering LAN, when the traffic matrix is on (else empty)
    macs: dict[str, int] = field(default_factory=dict)


def collector_targets(cfg: IXPConfig) -> dict[str, Any]:
    """The collector's file as a JSON-ready dict (pure)."""
    return {
        "version": 1,
        "ports": sorted({p.ifname for m in cfg.members for p in m.ports}),
        "members": {str(a): [m.asn, m.name] for m in cfg.members for a in (*m.ipv4, *m.ipv6)},
        "matrix_macs": {str(mac): m.asn for m in cfg.members for mac in m.macs}
        if cfg.peering_lan.traffic_matrix else {},
    }


def render_targets(cfg: IXPConfig) -> bytes:
    """``etc/monitor/collector.json``: same model, same bytes."""
    return (json.dumps(collector_targets(cfg), indent=1, sort_keys=True) + "\n").encode()


def parse_targets(data: Any) -> Targets:
    """The decoded file; ``ValueError`` naming what is wrong."""
    if not isinstance(data, dict) or data.get("version") != 1:
        raise ValueError('the file must be a JSON object with "version": 1')
    ports, members = data.get("ports"), data.get("members")
    if not isinstance(ports, list) or not all(isinstance(p, str) and p for p in ports):
        raise ValueError("ports must be a list of interface names")
    if not isinstance(members, dict):
        raise ValueError("members must map addresses to [asn, name]")
    out = {}
    for address, value in members.items():
        if (not isinstance(value, list) or len(value) != 2 or not isinstance(value[0], int)
                or not isinstance(value[1], str)):
            raise ValueError(f"members.{address} must be [asn, name]")
        out[address] = Member(value[0], value[1])
    macs = data.get("matrix_macs", {})  # absent in files rendered before the matrix history
    if not isinstance(macs, dict) or not all(isinstance(v, int) for v in macs.values()):
        raise ValueError("matrix_macs must map MAC addresses to ASNs")
    return Targets(frozenset(ports), out, dict(macs))


def load_targets(path: Path) -> Targets:
    """Read and check the collector's file (also the concern's verify step)."""
    try:
        return parse_targets(json.loads(path.read_text("utf-8")))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON: {exc}") from None


def committed_targets(state_dir: Path) -> Targets:
    """The targets from the committed configuration itself: loads the whole model."""
    from appliance.config.committed import committed_config

    cfg = committed_config(state_dir)
    return parse_targets(collector_targets(cfg)) if cfg is not None else Targets()


class TargetsFile:
    """The collector's file, re-read only when it was replaced (the pipeline renames it in)."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = Path(state_dir)
        self.path = self.state_dir / "etc" / TARGETS_FILE
        self._seen: tuple[int, int] | None = None
        self._targets = Targets()

    def get(self) -> Targets:
        """The current targets (none while the file is unreadable, said once)."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            # Committed by a version that did not render the file yet: the boot's re-apply
            # renders it; until then the model it came from (and its memory) does.
            if self._seen != (0, 0):
                log.warning("%s is not rendered yet: reading the committed configuration",
                            self.path)
                self._seen = (0, 0)
            return committed_targets(self.state_dir)
        key = (st.st_ino, st.st_mtime_ns)
        if key != self._seen:
            try:
                self._targets = load_targets(self.path)
            except (OSError, ValueError) as exc:
                log.error("cannot read %s: %s", self.path, exc)
                self._targets = Targets()
            self._seen = key
        return self._targets
