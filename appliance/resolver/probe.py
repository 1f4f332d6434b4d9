"""One health probe of the resolver: ask it for a name, with a timeout, from its namespace.

``dig`` is run through ``ip netns exec`` when the resolver lives in a namespace (the lab), so
the query never leaves for the host's network; on the image it runs directly.
"""

from __future__ import annotations

import re
import secrets
import shutil
import socket
import struct
import subprocess
import time
from dataclasses import dataclass

from appliance.platform.target import Target

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
              target: Target | None = None) -> ProbeResult:
    """Query ``server`` for ``name``/``qtype`` once, from ``target``'s namespace (None: this
    host); healthy on NOERROR or NXDOMAIN."""
    dig = shutil.which("dig")
    netns = target.netns if target is not None else None
    if dig is None and netns is None:
        # the image carries no dig (bind9-dnsutils): the same question from Python
        return udp_probe(server, name, qtype=qtype, timeout=timeout)
    if dig is None:
        return ProbeResult(False, "dig is not installed (Debian package bind9-dnsutils)", 0.0)
    argv = [dig, f"@{server}", name, qtype, f"+time={max(1, timeout)}", "+tries=1",
            "+noall", "+comments"]
    if target is not None:
        argv = target.command(argv)
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


_QTYPES = {"A": 1, "NS": 2, "SOA": 6, "AAAA": 28}
_RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


def udp_probe(server: str, name: str = ".", *, qtype: str = "SOA",
              timeout: float = 2, port: int = 53) -> ProbeResult:
    """One recursive DNS query over UDP with the standard library; healthy as ``dig_probe``."""
    qid = secrets.randbits(16)
    labels = [part for part in name.strip(".").split(".") if part]
    question = b"".join(bytes([len(p)]) + p.encode("ascii") for p in labels) + b"\0"
    packet = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + question + struct.pack(
        "!HH", _QTYPES.get(qtype, 6), 1)
    family = socket.AF_INET6 if ":" in server else socket.AF_INET
    start = time.monotonic()
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.settimeout(timeout)
            sock.sendto(packet, (server, port))
            while True:
                reply = sock.recv(4096)
                if len(reply) >= 12 and struct.unpack("!H", reply[:2])[0] == qid:
                    break
    except TimeoutError:
        return ProbeResult(False, "timeout", (time.monotonic() - start) * 1000)
    except OSError as exc:
        return ProbeResult(False, str(exc), (time.monotonic() - start) * 1000)
    rtt = (time.monotonic() - start) * 1000
    rcode = _RCODES.get(struct.unpack("!H", reply[2:4])[0] & 0x000F, "RCODE?")
    return ProbeResult(rcode in HEALTHY_RCODES, rcode, rtt)
