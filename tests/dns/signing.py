"""Sign the fixture root with a throw-away key (ldns-signzone), for the DNSSEC tests.

The key is made fresh for each test run, so the signatures are always current and nothing
secret is shipped. The result is a root zone as the real one looks to unbound: signed, with a
ZONEMD digest, and a trust anchor (our KSK) that stands in for the real root key.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.dns.variants import FIXTURE_ROOT


@dataclass(frozen=True)
class SignedRoot:
    """The signed zone file and the trust anchor (a DNSKEY line) that validates it."""

    zone: Path
    anchor: str


def _keygen(workdir: Path, *extra: str) -> str:
    res = subprocess.run(["ldns-keygen", "-a", "ECDSAP256SHA256", *extra, "."], cwd=workdir,
                         capture_output=True, text=True, check=True, timeout=30)
    return res.stdout.strip()  # the key's base name, K.+013+NNNNN


def sign_fixture(workdir: Path, source: Path = FIXTURE_ROOT) -> SignedRoot:
    """Sign ``source`` (ZSK + KSK, NSEC, ZONEMD SHA-384) into ``workdir``."""
    workdir.mkdir(parents=True, exist_ok=True)
    ksk = _keygen(workdir, "-k")
    zsk = _keygen(workdir)
    out = workdir / "root.zone.signed"
    subprocess.run(["ldns-signzone", "-o", ".", "-z", "1:1", "-f", str(out), str(source),
                    zsk, ksk], cwd=workdir, capture_output=True, text=True, check=True,
                   timeout=60)
    anchor = (workdir / f"{ksk}.key").read_text()
    return SignedRoot(out, anchor)
