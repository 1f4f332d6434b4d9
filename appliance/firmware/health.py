"""Is the new system healthy? The health gate's checks of the box itself.

``evaluate`` is pure: it turns what the probes saw into a verdict. The box is healthy when the
committed revision was re-applied at boot and BIRD runs it, when BIRD has sessions back (at
least one, and at least half of those Established before the update; members whose own router
stays down are listed, never counted against the box), when the resolver answers (if the
configuration enables it), and when the web UI answers. ``observe`` runs the probes.
"""

from __future__ import annotations

import math
import ssl
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_TIMEOUT = 300.0  # the gate's bound, seconds (issue 21: 5 minutes)
# DNS answer codes: the resolver answered (a timeout or a socket error is no answer)
ANSWERS = frozenset({"NOERROR", "NXDOMAIN", "SERVFAIL", "REFUSED", "FORMERR", "NOTIMP"})


@dataclass(frozen=True)
class Observation:
    """What the probes saw at one moment."""

    revision: str | None  # None: re-applied and BIRD runs it; else what is wrong
    established: frozenset[str]  # BGP protocols Established now
    resolver: str | None  # None: answers or not enabled; else what is wrong
    web: str | None  # None: answers; else what is wrong
    fatal: str | None = None  # a failure that waiting cannot cure (a unit that failed)


@dataclass(frozen=True)
class Verdict:
    """The gate's judgement of one observation."""

    healthy: bool
    problems: tuple[str, ...]
    still_down: tuple[str, ...] = field(default=())  # sessions up before, not back (listed)
    fatal: bool = False

    @property
    def reason(self) -> str:
        """The problems in one sentence."""
        return "; ".join(self.problems)


def sessions_needed(before: int) -> int:
    """How many of the sessions up before must be back: at least one and at least half."""
    return 0 if before == 0 else max(1, math.ceil(before / 2))


def evaluate(obs: Observation, before: list[str]) -> Verdict:
    """The verdict on ``obs`` for a box that had the sessions ``before`` Established (pure)."""
    problems: list[str] = []
    if obs.revision:
        problems.append(obs.revision)
    back = [name for name in before if name in obs.established]
    still_down = tuple(sorted(set(before) - obs.established))
    needed = sessions_needed(len(before))
    if len(back) < needed:
        problems.append(f"only {len(back)} of the {len(before)} BGP sessions Established "
                        f"before the update are back (at least {needed} needed)")
    if obs.resolver:
        problems.append(obs.resolver)
    if obs.web:
        problems.append(obs.web)
    if obs.fatal:
        problems.append(obs.fatal)
    return Verdict(not problems, tuple(problems), still_down, fatal=obs.fatal is not None)


# -- probes ------------------------------------------------------------------------------

def unit_state(unit: str) -> str:
    """systemd's ActiveState of ``unit`` ("active", "failed", …; "unknown" off systemd)."""
    try:
        res = subprocess.run(["systemctl", "show", "-p", "ActiveState", "--value", unit],
                             capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return res.stdout.strip() or "unknown"


def web_answers(url: str = "https://127.0.0.1/login", timeout: float = 10) -> str | None:
    """None if the web UI answers through its HTTPS front, else what went wrong."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the box's own self-signed certificate, on loopback
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=ctx) as resp:
            code = resp.status
    except urllib.error.HTTPError as exc:
        code = exc.code
    except (OSError, ValueError) as exc:
        return f"the web UI does not answer ({exc})"
    return None if code < 500 else f"the web UI answers with an error (HTTP {code})"


def observe(state_dir: Path) -> Observation:
    """Run every probe once on this box."""
    from appliance.config.committed import committed_config
    from appliance.config.revisions import RevisionStore
    from appliance.platform.bird.query import protocols, route_server_socket
    from appliance.platform.target import Target
    from appliance.resolver.probe import dig_probe
    from appliance.route_server.service import running_config

    fatal: str | None = None
    revision: str | None = None
    latest = RevisionStore(state_dir).latest()
    established: frozenset[str] = frozenset()
    cfg = committed_config(state_dir) if latest is not None else None
    if latest is not None and cfg is None:
        fatal = f"this firmware cannot read revision {latest.id}, the committed configuration"
    if latest is not None:
        restore = unit_state("ixp-restore.service")
        if restore == "failed":
            fatal = f"revision {latest.id} could not be re-applied at boot (ixp-restore failed)"
        elif restore not in ("active", "unknown"):
            revision = f"revision {latest.id} is not re-applied yet ({restore})"
        report = running_config(Target(Path(state_dir)))
        if not report.ok:
            revision = revision or ("BIRD does not run the re-applied configuration: "
                                    + "; ".join(report.problems))
        try:
            established = frozenset(p.name for p in protocols(route_server_socket(state_dir),
                                                              timeout=10)
                                    if p.proto == "BGP" and p.established)
        except Exception:  # BIRD down: counted as no sessions (said above)
            established = frozenset()
    resolver: str | None = None
    if cfg is not None and cfg.services.resolver.enabled:
        addresses = [str(a) for a in (*cfg.services.resolver.ipv4, *cfg.services.resolver.ipv6)]
        if addresses:
            # Any answer counts, SERVFAIL too: an island box without internet and without a
            # local root zone cannot resolve the root, and that is no reason to roll back.
            probe = dig_probe(addresses[0], "localhost", qtype="A", timeout=3)
            if not probe.ok and probe.detail not in ANSWERS:
                resolver = f"the resolver on {addresses[0]} does not answer ({probe.detail})"
    web = web_answers()
    if web and unit_state("ixp-web.service") == "failed":
        fatal = fatal or "the web UI does not answer: ixp-web.service failed"
        web = None
    return Observation(revision=revision, established=established, resolver=resolver,
                       web=web, fatal=fatal)
