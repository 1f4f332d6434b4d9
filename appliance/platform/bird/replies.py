"""Parse BIRD 2's control-socket replies into typed results.

A reply is a run of lines ``CODE-text`` (more follows), ``CODE text`` (last line) or `` text``
(continuation of the previous code). The code's class says what it is: 0xxx done, 1xxx table
data, 2xxx table headings, 8xxx run-time errors, 9xxx parse errors.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field

_LINE = re.compile(r"^(\d{4})([ -])(.*)$")
# The last line of any reply: a 0xxx, 8xxx or 9xxx code followed by a space.
REPLY_END = re.compile(rb"(?m)^[089]\d{3} [^\n]*\n")


class BirdError(Exception):
    """BIRD answered a command with an error; ``text`` is BIRD's own message."""

    def __init__(self, code: int, text: str, command: str = "") -> None:
        super().__init__(f"BIRD error {code:04d}: {text}" + (f" (command: {command})"
                                                             if command else ""))
        self.code = code
        self.text = text
        self.command = command


@dataclass(frozen=True)
class Reply:
    """One whole reply: ``(code, text)`` lines and the final code."""

    lines: tuple[tuple[int, str], ...]
    raw: str = field(default="", repr=False, compare=False)

    @property
    def code(self) -> int:
        """The final line's code (0xxx on success)."""
        return self.lines[-1][0] if self.lines else 0

    @property
    def text(self) -> str:
        """The final line's text."""
        return self.lines[-1][1] if self.lines else ""

    @property
    def is_error(self) -> bool:
        """8xxx (run-time) or 9xxx (parse) error."""
        return self.code >= 8000

    def texts(self, code: int) -> list[str]:
        """The text of every line with ``code``."""
        return [t for c, t in self.lines if c == code]


def is_final_line(line: str) -> bool:
    """Whether ``line`` ends a reply: a 0xxx, 8xxx or 9xxx code followed by a space."""
    m = _LINE.match(line)
    return bool(m and m.group(2) == " " and m.group(1)[0] in "089")


def iter_lines(raw: str) -> Iterator[tuple[int, str]]:
    """``(code, text)`` of each line of a raw reply; continuation lines take the previous code.

    One line at a time: with 1000 members a ``show protocols all`` is megabytes, and a list of
    every line would stay in a resident reader's memory (the SNMP agent, the collector).
    """
    code = 0
    start, size = 0, len(raw)
    while start < size:
        end = raw.find("\n", start)
        end = size if end < 0 else end
        line = raw[start:end].rstrip("\r")  # a slice per line: no copy of the whole text
        start = end + 1
        if not line:
            continue
        m = _LINE.match(line)
        if m:
            code = int(m.group(1))
            yield code, m.group(3)
        elif line.startswith(" "):
            yield code, line[1:]
        else:  # not BIRD's format; keep it rather than lose text
            yield code, line


def parse_reply(raw: str) -> Reply:
    """Split raw reply text into coded lines (``iter_lines``)."""
    return Reply(tuple(iter_lines(raw)), raw)


def raise_for_error(reply: Reply, command: str = "") -> Reply:
    """Return ``reply``, or raise ``BirdError`` with BIRD's text if it is an error."""
    if reply.is_error:
        raise BirdError(reply.code, reply.text, command)
    return reply


# ---- show status ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Status:
    """``show status``."""

    version: str
    router_id: str
    server_time: str
    last_reboot: str
    last_reconfiguration: str
    message: str

    @property
    def up(self) -> bool:
        """The daemon says it is up and running (not shutting down or reconfiguring)."""
        return self.message == "Daemon is up and running"


def _after(lines: list[str], prefix: str) -> str:
    return next((x[len(prefix):].strip() for x in lines if x.startswith(prefix)), "")


def parse_status(reply: Reply) -> Status:
    """Typed ``show status``."""
    texts = [t for _, t in reply.lines]
    version = next((t.split()[1] for c, t in reply.lines if c == 1000 and " " in t), "")
    return Status(
        version=version,
        router_id=_after(texts, "Router ID is"),
        server_time=_after(texts, "Current server time is"),
        last_reboot=_after(texts, "Last reboot on"),
        last_reconfiguration=_after(texts, "Last reconfiguration on"),
        message=reply.text,
    )


# ---- show protocols all --------------------------------------------------------------------

@dataclass(frozen=True)
class ChannelInfo:
    """A protocol's channel (ipv4, ipv6, ...) and its route counts."""

    name: str
    state: str = ""
    table: str = ""
    peer_table: str = ""  # a pipe's other table
    imported: int = 0
    filtered: int = 0
    exported: int = 0
    preferred: int = 0
    receive_limit: int | None = None
    limit_hit: bool = False  # BIRD shows "[HIT]" once the member sent more than the limit
    # Route change statistics: updates the peer sent ("Import updates", received column) and
    # updates sent to it ("Export updates", accepted column), as BGP4-MIB counts them.
    updates_in: int = 0
    updates_out: int = 0


@dataclass(frozen=True)
class Protocol:
    """One line of ``show protocols`` plus the details of ``show protocols all``."""

    name: str
    proto: str
    table: str
    state: str
    since: str
    info: str
    details: dict[str, str] = field(default_factory=dict)
    channels: tuple[ChannelInfo, ...] = ()

    @property
    def established(self) -> bool:
        """A BGP session that is up."""
        return self.state == "up" and self.info.startswith("Established")

    def routes(self, what: str) -> int:
        """Sum of ``what`` ("imported", "filtered", "exported") over all channels."""
        return sum(getattr(c, what) for c in self.channels)


_ROUTES = re.compile(r"(\d+) (imported|filtered|exported|preferred)")
_SINCE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?$|^\d\d:\d\d:\d\d(?:\.\d+)?$")


def _protocol_line(text: str) -> Protocol:
    parts = text.split()
    name, proto, table, state = parts[:4]
    rest = parts[4:]
    # "since" is one word (time) or two (ISO date and time), depending on timeformat.
    n = 2 if len(rest) >= 2 and _SINCE.match(" ".join(rest[:2])) else 1
    since = " ".join(rest[:n])
    return Protocol(name, proto, table, state, since, " ".join(rest[n:]))


def _details(lines: list[str]) -> tuple[dict[str, str], tuple[ChannelInfo, ...]]:
    details: dict[str, str] = {}
    channels: list[dict[str, object]] = []
    for line in lines:
        stripped = line.strip()
        if line.startswith("  Channel "):
            channels.append({"name": stripped.split()[1]})
            continue
        key, sep, value = stripped.partition(":")
        if not sep:
            continue
        value = value.strip()
        if channels:
            ch = channels[-1]
            if key == "Routes":
                for num, what in _ROUTES.findall(value):
                    ch[what] = int(num)
            elif key in ("State", "Table", "Peer table"):
                ch[key.lower().replace(" ", "_")] = value
            elif key in ("Import updates", "Export updates"):
                cols = [int(x) if x.isdigit() else 0 for x in value.split()]
                if cols:
                    ch["updates_in" if key.startswith("Import") else "updates_out"] = \
                        cols[0] if key.startswith("Import") else cols[-1]
            elif key in ("Receive limit", "Import limit") and value.split()[0].isdigit():
                ch["receive_limit"] = int(value.split()[0])
                ch["limit_hit"] = "[HIT]" in value
        else:
            details.setdefault(key, value)
    return details, tuple(ChannelInfo(**c) for c in channels)  # type: ignore[arg-type]


def parse_protocols(reply: Reply | Iterable[tuple[int, str]],
                    kinds: Collection[str] | None = None) -> list[Protocol]:
    """Typed ``show protocols`` or ``show protocols all`` (a reply, or its ``iter_lines``).

    ``kinds`` (e.g. ``{"BGP"}``) keeps only those protocols: the others' details are not even
    split into fields (a resident reader with 1000 members skips the pipes and tables).
    """
    out: list[Protocol] = []
    pending: list[str] = []
    keep = True

    def flush() -> None:
        if out and pending and keep:
            details, channels = _details(pending)
            last = out[-1]
            out[-1] = Protocol(last.name, last.proto, last.table, last.state, last.since,
                               last.info, details, channels)
        pending.clear()

    for code, text in (reply.lines if isinstance(reply, Reply) else reply):
        if code == 1002:
            flush()
            if text.strip():
                p = _protocol_line(text)
                keep = kinds is None or p.proto in kinds
                if keep:
                    out.append(p)
        elif code == 1006 and keep:
            pending.append(text)
    flush()
    return out


# ---- show route ... all --------------------------------------------------------------------

@dataclass(frozen=True)
class Route:
    """One route of ``show route ... all``."""

    prefix: str
    table: str
    protocol: str
    best: bool
    next_hop: str = ""
    as_path: tuple[int, ...] = ()
    communities: tuple[tuple[int, int], ...] = ()
    large_communities: tuple[tuple[int, int, int], ...] = ()
    local_pref: int | None = None
    med: int | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    since: str = ""  # when BIRD got the route, in the config's "timeformat route"
    source: str = ""  # the "from" address, which BIRD prints only when it is not the gateway
    gateway: str = ""  # the "via" address
    interface: str = ""  # the "on" interface


# "PREFIX unicast [PROTO TIME [from ADDR]] [*] ...": TIME is one word or two (ISO date and
# time), depending on "timeformat route".
_ROUTE_HEAD = re.compile(r"^(\S+)?\s+(\w+)\s+\[(\S+) ([^\]]*?)(?: from (\S+))?\](\s\*)?")
_VIA = re.compile(r"^\s*via\s+(\S+)\s+on\s+(\S+)")
_PAIR = re.compile(r"\((\d+),\s*(\d+)\)")
_TRIPLE = re.compile(r"\((\d+),\s*(\d+),\s*(\d+)\)")


def _route(prefix: str, table: str, head: re.Match[str], attrs: dict[str, str],
           via: tuple[str, str]) -> Route:
    path = tuple(int(a) for a in re.findall(r"\d+", attrs.get("BGP.as_path", "")))
    lp = attrs.get("BGP.local_pref")
    med = attrs.get("BGP.med")
    return Route(
        prefix=prefix,
        table=table,
        protocol=head.group(3),
        best=bool(head.group(6)),
        next_hop=attrs.get("BGP.next_hop", "").split()[0] if attrs.get("BGP.next_hop") else "",
        as_path=path,
        communities=tuple((int(a), int(b)) for a, b in _PAIR.findall(
            attrs.get("BGP.community", ""))),
        large_communities=tuple((int(a), int(b), int(c)) for a, b, c in _TRIPLE.findall(
            attrs.get("BGP.large_community", ""))),
        local_pref=int(lp) if lp else None,
        med=int(med) if med else None,
        attributes=dict(attrs),
        since=head.group(4).strip(),
        source=head.group(5) or "",
        gateway=via[0],
        interface=via[1],
    )


def parse_routes(reply: Reply) -> list[Route]:
    """Typed ``show route [table T] [protocol P] [filtered] all``."""
    routes: list[Route] = []
    table = ""
    prefix = ""
    head: re.Match[str] | None = None
    attrs: dict[str, str] = {}
    via = ("", "")

    def flush() -> None:
        if head is not None:
            routes.append(_route(prefix, table, head, attrs, via))

    for code, text in reply.lines:
        if code == 1007 and text.startswith("Table ") and text.endswith(":"):
            flush()
            head, attrs = None, {}
            table = text[len("Table "):-1]
            continue
        if code not in (1007, 1008, 1012):
            continue
        if text.startswith("\t"):  # an attribute, or the "via" line
            key, sep, value = text.strip().partition(": ")
            if sep and head is not None:
                attrs[key] = value.strip()
            elif (v := _VIA.match(text)) and head is not None:
                via = (v.group(1), v.group(2))
            continue
        m = _ROUTE_HEAD.match(text)
        if m:
            flush()
            if m.group(1):
                prefix = m.group(1)
            head, attrs, via = m, {}, ("", "")
    flush()
    return routes
