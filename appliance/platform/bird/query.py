"""One read-only question to BIRD's control socket over a plain socket, without pexpect.

The resident collector asks BIRD one thing (``show protocols all``) every round; the full
client (``appliance.platform.bird.control``) drags pexpect and its dependencies into that process
(issue 14: the 1 GB box). The protocol is the same: a greeting, one command line, a reply
whose last line is a 0xxx, 8xxx or 9xxx code followed by a space.
"""

from __future__ import annotations

import socket
from collections.abc import Collection, Iterator
from pathlib import Path

from appliance.platform.bird.replies import (
    REPLY_END,
    BirdError,
    Protocol,
    Reply,
    iter_lines,
    parse_protocols,
    parse_reply,
    raise_for_error,
)
from appliance.platform.target import Target


def route_server_socket(state_dir: str | Path) -> Path:
    """The route server BIRD's control socket of a state directory (``Target.bird_socket``)."""
    return Target(Path(state_dir)).bird_socket


def _read_reply(sock: socket.socket) -> bytearray:
    buf = bytearray()
    searched = 0
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("BIRD closed the control connection")
        buf += chunk
        # only the new bytes (and the line they may end) can hold the final line
        start = max(0, buf.rfind(b"\n", 0, searched) + 1)
        if REPLY_END.search(buf, start):
            return buf
        searched = len(buf)


def _ask(socket_file: str | Path, command: str, timeout: float) -> str:
    if "\n" in command:
        raise ValueError("one command line at a time")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(socket_file))
        _read_reply(sock)  # the greeting: 0001 BIRD x.y.z ready.
        sock.sendall((command + "\n").encode("utf-8"))
        return _read_reply(sock).decode("utf-8", errors="replace")


def query(socket_file: str | Path, command: str, timeout: float = 30) -> Reply:
    """Send ``command`` and return BIRD's reply; ``BirdError`` for BIRD's errors, ``OSError``
    (``TimeoutError``, ``ConnectionError``...) when the socket does not answer."""
    return raise_for_error(parse_reply(_ask(socket_file, command, timeout)), command)


def protocols(socket_file: str | Path, timeout: float = 30,
              kinds: Collection[str] | None = None, names: str | None = None
              ) -> list[Protocol]:
    """``show protocols all``: state, since, info and route counts per channel (only the
    protocols of ``kinds``, e.g. ``{"BGP"}``, when given; only those whose name matches BIRD's
    pattern ``names``, e.g. ``"rpki*"``, so that BIRD does not list 2000 sessions for them).

    Parsed line by line from the raw text, never held as a whole reply (resident readers).
    """
    command = "show protocols all" + (f' "{names}"' if names else "")
    last = (0, "")

    def lines() -> Iterator[tuple[int, str]]:
        nonlocal last
        for line in iter_lines(_ask(socket_file, command, timeout)):
            last = line
            yield line
    found = parse_protocols(lines(), kinds)
    if last[0] >= 8000:
        raise BirdError(last[0], last[1], command)
    return found
