"""How good the local root copy is, in words an operator understands (offline islands).

Sources, all local: the zone file unbound keeps (rewritten after every transfer, so its age
says when the copy last changed), its SOA timers, the expiry of its DNSSEC signatures, and
what unbound itself reports (``unbound-control list_auth_zones``). unbound counts the SOA
expiry from its own start, so after a restart it would serve an old copy again; the file age
and the signature expiry do not reset, which is why they are reported too.
"""

from __future__ import annotations

import calendar
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

# The real root's serial changes at least daily; a copy older than this is not being updated.
STALE_AFTER = 2 * 86400

RootState = Literal["missing", "fresh", "stale", "expired"]


@dataclass(frozen=True)
class ZoneFacts:
    """What the zone file says about itself."""

    serial: int | None
    refresh: int | None
    expire: int | None
    signatures_expire: float | None  # earliest RRSIG expiration, epoch seconds


@dataclass(frozen=True)
class RootZoneStatus:
    """The local root copy, for the UI, /metrics, SNMP and the logs."""

    state: RootState
    message: str
    serial: int | None = None
    age_seconds: float | None = None
    soa_expire: int | None = None
    signatures_expire: float | None = None
    unbound_view: str | None = None  # "serial N", "expired", or None when not asked


def _rrsig_time(text: str) -> float | None:
    # RFC 4034 presentation: YYYYMMDDHHmmSS (UTC) or seconds since the epoch
    try:
        if len(text) == 14 and text.isdigit():
            return float(calendar.timegm(time.strptime(text, "%Y%m%d%H%M%S")))
        return float(int(text))
    except ValueError:
        return None


def read_facts(lines: list[str]) -> ZoneFacts:
    """SOA timers and earliest signature expiry from zone file lines (one RR per line)."""
    serial = refresh = expire = None
    sig_exp: float | None = None
    for line in lines:
        parts = line.split(";", 1)[0].split()
        if "IN" not in parts:
            continue
        i = parts.index("IN")
        rtype, rdata = (parts[i + 1], parts[i + 2:]) if len(parts) > i + 1 else ("", [])
        if rtype == "SOA" and serial is None and len(rdata) >= 7:
            serial, refresh, expire = int(rdata[2]), int(rdata[3]), int(rdata[5])
        elif rtype == "RRSIG" and len(rdata) >= 5:
            t = _rrsig_time(rdata[4])
            if t is not None and (sig_exp is None or t < sig_exp):
                sig_exp = t
    return ZoneFacts(serial, refresh, expire, sig_exp)


# The real root zone is about 2 MB: read it again only when unbound has rewritten it.
_facts_cache: dict[Path, tuple[tuple[float, int], ZoneFacts]] = {}


def zone_facts(zonefile: Path) -> tuple[float, ZoneFacts]:
    """The file's modification time and facts; raises ``OSError`` when it is missing."""
    st = zonefile.stat()
    key = (st.st_mtime, st.st_size)
    cached = _facts_cache.get(zonefile)
    if cached is not None and cached[0] == key:
        return st.st_mtime, cached[1]
    facts = read_facts(zonefile.read_text(errors="replace").splitlines())
    _facts_cache[zonefile] = (key, facts)
    return st.st_mtime, facts


_VIEW = re.compile(r"serial \d+|expired")


def parse_list_auth_zones(output: str) -> str | None:
    """unbound's own view of the root auth-zone: ``serial N`` or ``expired``.

    unbound 1.2x adds when it got that serial (``serial N\t since T``), and after
    ``expired`` unbound 1.26 prints stray bytes of its buffer: only the leading words count.
    """
    for line in output.splitlines():
        name, _, rest = line.partition("\t")
        if name.strip() == ".":
            found = _VIEW.match(rest.strip())
            return found.group(0) if found else (rest.strip() or None)
    return None


def _days(seconds: float) -> str:
    return f"{seconds / 86400:.1f} days"


def root_zone_status(zonefile: Path, *, now: float, unbound_view: str | None = None,
                     stale_after: float = STALE_AFTER) -> RootZoneStatus:
    """Judge the local root copy at ``now`` (epoch seconds)."""
    try:
        mtime, facts = zone_facts(zonefile)
    except OSError:
        return RootZoneStatus("missing", "There is no local copy of the root zone yet: the "
                              "resolver asks the root servers over the internet until it has "
                              "fetched one.", unbound_view=unbound_view)
    if facts.serial is None:
        return RootZoneStatus("missing", "The local root zone file has no SOA record; it will "
                              "be replaced at the next transfer.", unbound_view=unbound_view)
    age = max(0.0, now - mtime)
    common = {"serial": facts.serial, "age_seconds": age, "soa_expire": facts.expire,
              "signatures_expire": facts.signatures_expire, "unbound_view": unbound_view}
    if unbound_view == "expired":
        return RootZoneStatus("expired", f"The local root copy (serial {facts.serial}) has "
                              "EXPIRED: it could not be refreshed in time, so names that are "
                              "not cached fail until the internet is reachable again.", **common)
    if facts.signatures_expire is not None and facts.signatures_expire <= now:
        return RootZoneStatus("expired", f"The DNSSEC signatures of the local root copy "
                              f"(serial {facts.serial}) have EXPIRED: it can no longer be "
                              "validated, so names that are not cached fail until a fresh "
                              "copy is fetched.", **common)
    if age > stale_after:
        left = ""
        if facts.signatures_expire is not None:
            left = f"; it stays usable for {_days(facts.signatures_expire - now)} more"
        return RootZoneStatus("stale", f"The local root copy (serial {facts.serial}) is STALE: "
                              f"not updated for {_days(age)}. The box cannot reach the root "
                              f"servers' transfer service{left}.", **common)
    return RootZoneStatus("fresh", f"The local root copy (serial {facts.serial}) is current "
                          f"(updated {_days(age)} ago).", **common)
