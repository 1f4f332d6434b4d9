"""One health probe of the resolver: ask it for a name, with a timeout, from its namespace.

``dig`` is run through ``ip netns exec`` when the resolver lives in a namespace (the lab), so
the query never leaves for the host's network; on the image it runs directly.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from dataclasses import dataclass

# Answers that prove the resolver resolves: the name exists, or provably does not.
HEALTHY_RCODES = ("NOERROR", "NXDOMAIN")
_STATUS = re.compile(r"status: ([A-Z]+)")


@dataclass(frozen=True)
class ProbeResult:
    """What one probe saw."""

    ok: bool
    detail: str  # rcode, "timeout", or why it could not run
    rtt_ms: float


def dig_probe(server: str, name: str = ".", *, qtype: str = "SOA", timeout: int = 2,
              netns: str | None = None) -> ProbeResult:
    """Query ``server`` for ``name``/``qtype`` once; healthy on NOERROR or NXDOMAIN."""
    dig = shutil.which("dig")
    if dig is None:
        return ProbeResult(False, "dig is not installed (Debian package dnsutils)", 0.0)
    argv = [dig, f"@{server}", name, qtype, f"+time={max(1, timeout)}", "+tries=1",
            "+noall", "+comments"]
    if netns:
        argv = ["ip", "netns", "exec", netns, *argv]
    start = time.monotonic()
    try:
        res = subprocess.run(argv, capture_output=True, text=True, timeout=timeout + 5,
                             check=False)
    except subprocess.TimeoutExpired:
        return ProbeResult(False, "timeout", (time.monotonic() - start) * 1000)
    rtt = (time.monotonic() - start) * 1000
    match = _STATUS.search(res.stdout)
    if match is None:
        # dig exits 9 when no server answered in time
        why = "timeout" if res.returncode == 9 else (res.stderr or res.stdout).strip()[:200]
        return ProbeResult(False, why or f"dig exit {res.returncode}", rtt)
    rcode = match.group(1)
    return ProbeResult(rcode in HEALTHY_RCODES, rcode, rtt)
