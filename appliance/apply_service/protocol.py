"""The helper's wire format: one JSON object per line, each way.

A request is ``{"verb": NAME, "args": {...}}``. The helper answers with zero or more
``{"progress": [stage, state, message]}`` lines (an apply's stages as they run), then one
``{"ok": true, "result": ...}`` or ``{"ok": false, "error": SENTENCE}`` (with ``"issues"``
when the configuration itself was refused). Nothing else is ever sent.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from appliance.platform import journal

# A configuration of 1000 members is some 1 MB of YAML: room for it, not for a flood.
MAX_LINE = 16 * 1024 * 1024
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


class ProtocolError(ValueError):
    """A line that is not a request or an answer of this protocol."""


def put_upload(folder: Path, raw: bytes) -> str:
    """``raw`` as a new file in ``folder`` (the web UI's uploads) that only its owner reads;
    the token that names it."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    token = secrets.token_urlsafe(18)
    fd = os.open(folder / token, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(raw)
    return token


def send(out: BinaryIO, message: dict[str, Any]) -> None:
    """Write one message as a line."""
    out.write(json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode() + b"\n")
    out.flush()


def receive(inp: BinaryIO) -> dict[str, Any] | None:
    """Read one message (None at the end of the stream); ``ProtocolError`` if malformed."""
    line = inp.readline(MAX_LINE + 1)
    if not line:
        return None
    if len(line) > MAX_LINE:
        raise ProtocolError(f"a request line is longer than {MAX_LINE} bytes")
    try:
        message = json.loads(line)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProtocolError(f"a request line is not JSON ({exc})") from None
    if not isinstance(message, dict):
        raise ProtocolError("a request line must be a JSON object")
    return message


@dataclass(frozen=True)
class Arg:
    """One argument of a verb: its type, whether it may be left out, and a check."""

    kind: type | tuple[type, ...]
    required: bool = True
    check: Callable[[Any], str | None] | None = None  # a sentence saying what is wrong


def _text(limit: int, *, empty: bool = True) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if len(value) > limit:
            return f"at most {limit} characters"
        if not empty and not value:
            return "must not be empty"
        if any(ord(c) < 32 and c not in "\n\t" for c in value):
            return "must not hold control characters"
        return None
    return check


def _name(value: Any) -> str | None:
    return None if re.fullmatch(r"[A-Za-z0-9_.:-]{1,64}", value) else \
        "must be a user or interface name (letters, digits, . _ - :)"


def _token(value: Any) -> str | None:
    return None if TOKEN_RE.match(value) else "must be an upload token (8-64 of A-Z a-z 0-9 _ -)"


def _revision(value: Any) -> str | None:
    return None if value is None or (not isinstance(value, bool) and value >= 0) else \
        "must be a revision number (0 or more)"


def _hex(value: Any) -> str | None:
    return None if re.fullmatch(r"[0-9a-f]{0,64}", value) else "must be a sha256 digest"


def _asn(value: Any) -> str | None:
    return None if not isinstance(value, bool) and 1 <= value <= 4294967295 else \
        "must be an AS number (1 to 4294967295)"


def _seconds(value: Any) -> str | None:
    return None if not isinstance(value, bool) and 0 <= value <= 600 else \
        "must be a number of seconds from 0 to 600"


_NFT_FAMILIES = {"inet", "bridge", "ip", "ip6", "netdev", "arp"}
_NFT_NAME = re.compile(r"^[A-Za-z0-9_]{1,64}$")


def _nft_read(value: Any) -> str | None:
    """Only the three reads the status pages make (``platform.nft``): a table, its counters,
    one set."""
    if not all(isinstance(v, str) for v in value):
        return "must be a list of words"
    shapes = {4: ["list", "table"], 5: ["list", "counters", "table"],
              7: ["-j", "list", "set"]}
    head = shapes.get(len(value))
    if head is None or value[:len(head)] != head:
        return ("must be one of: list table F T; list counters table F T; "
                "-j list set F T NAME")
    names = value[len(head):]
    if names[0] not in _NFT_FAMILIES or not all(_NFT_NAME.match(n) for n in names[1:]):
        return "names a family or table that is not nft's or not a plain name"
    return None


def _address(value: Any) -> str | None:
    return None if re.fullmatch(r"[0-9A-Fa-f:.%\[\]a-z-]{0,64}", value) else \
        "must be an address"


def _is_ip(value: Any) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


# A member has a handful of addresses; the probe sends one frame per address.
MAX_PROBE_TARGETS = 64


def _probe_targets(value: Any) -> str | None:
    if not value or len(value) > MAX_PROBE_TARGETS or \
            not all(isinstance(v, str) and _is_ip(v) for v in value):
        return f"must be a list of 1 to {MAX_PROBE_TARGETS} IPv4 or IPv6 addresses"
    return None


def _probe_sources(value: Any) -> str | None:
    if not value or not all(k in ("4", "6") and isinstance(v, str) and _is_ip(v)
                            for k, v in value.items()):
        return 'must map "4" and/or "6" to the box\'s own address of that version'
    return None


def _mac(value: Any) -> str | None:
    return None if re.fullmatch(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}", value) else \
        "must be a MAC address (six lowercase hex pairs)"


def _probe_timeout(value: Any) -> str | None:
    return None if not isinstance(value, bool) and 0 < value <= 5 else \
        "must be a number of seconds above 0, at most 5"


DATA_KINDS = ("irr", "rpki", "rootzone", "peeringdb")
AUTHOR = Arg(str, check=_name)
CONFIG = Arg(str, check=_text(MAX_LINE, empty=False))
# verb -> its arguments; a request with any other verb or argument is refused.
VERBS: dict[str, dict[str, Arg]] = {
    "compare": {"config": CONFIG, "author": AUTHOR},
    "apply": {"config": CONFIG, "author": AUTHOR, "comment": Arg(str, False, _text(2000)),
              "based_on": Arg((int, type(None)), False, _revision),
              "verified": Arg(str, False, _hex), "dry_run": Arg(bool, False),
              "record": Arg(bool, False)},
    "reapply": {"author": AUTHOR},
    "restore_backup": {"upload": Arg(str, check=_token),
                       "passphrase": Arg((str, type(None)), False,
                                         lambda v: None if v is None else _text(1024)(v))},
    "backup_create": {"passphrase": Arg((str, type(None)), False,
                                        lambda v: None if v is None else _text(1024)(v))},
    "identify": {"nic": Arg(str, check=_name)},
    "firmware_install": {"token": Arg(str, check=_token), "allow_downgrade": Arg(bool, False),
                         "drain_seconds": Arg((int, float), False, _seconds)},
    "reboot": {},
    "nft_read": {"args": Arg(list, check=_nft_read)},
    # the onboarding checklist's ARP/ND question on the LAN: a packet socket (CAP_NET_RAW)
    "probe": {"bridge": Arg(str, check=_name), "src_mac": Arg(str, check=_mac),
              "sources": Arg(dict, check=_probe_sources),
              "targets": Arg(list, check=_probe_targets),
              "timeout": Arg((int, float), False, _probe_timeout)},
    "confirm_trial": {"reached_at": Arg((str, type(None)), False,
                                        lambda v: None if v is None else _address(v))},
    "install_data": {"kind": Arg(str, check=lambda v: None if v in DATA_KINDS else
                                 f"must be one of {', '.join(DATA_KINDS)}"),
                     "upload": Arg(str, check=_token)},
    # the alert settings and their delivery log are the collector's (0640 root:ixp-collector)
    "alert_test": {"channel": Arg(str, check=_name)},
    "report_test": {"asn": Arg(int, check=_asn)},
    # bgpq4 writes the route server's IRR cache
    "irr_fetch": {},
    # the Logs page: journalctl for one of the box's own units, never the caller's arguments
    "journal": {"unit": Arg(str, check=journal.check_unit),
                "lines": Arg(int, False, journal.check_lines),
                "priority": Arg((str, type(None)), False, journal.check_priority)},
}


def check_request(message: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(verb, arguments) of a request, or ``ProtocolError`` naming what is wrong."""
    verb = message.get("verb")
    if not isinstance(verb, str) or verb not in VERBS:
        raise ProtocolError(f"unknown verb {verb!r}; the helper knows {', '.join(VERBS)}")
    if set(message) - {"verb", "args"}:
        raise ProtocolError(f"{verb}: unexpected fields {sorted(set(message) - {'verb', 'args'})}")
    args = message.get("args", {})
    if not isinstance(args, dict):
        raise ProtocolError(f"{verb}: args must be a JSON object")
    spec = VERBS[verb]
    extra = sorted(set(args) - set(spec))
    if extra:
        raise ProtocolError(f"{verb}: unknown argument(s) {', '.join(extra)}; it takes "
                            f"{', '.join(spec) or 'none'}")
    for name, arg in spec.items():
        if name not in args:
            if arg.required:
                raise ProtocolError(f"{verb}: the argument {name} is missing")
            continue
        value = args[name]
        if not isinstance(value, arg.kind) or (isinstance(value, bool)
                                                and bool not in _kinds(arg.kind)):
            raise ProtocolError(f"{verb}: {name} has the wrong type "
                                f"({type(value).__name__})")
        why = arg.check(value) if arg.check else None
        if why:
            raise ProtocolError(f"{verb}: {name} {why}")
    return verb, args


def _kinds(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)
