"""A client for BIRD's control socket, driven with pexpect (the same protocol birdc speaks).

Every command returns a typed result or raises ``BirdError`` carrying BIRD's own message;
a socket that does not answer raises ``BirdUnavailable``.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path
from types import TracebackType

import pexpect
from pexpect.socket_pexpect import SocketSpawn

from appliance.platform.bird.query import route_server_socket  # noqa: F401  (re-exported)
from appliance.platform.bird.replies import (
    REPLY_END,
    BirdError,
    Protocol,
    Reply,
    Route,
    Status,
    parse_protocols,
    parse_reply,
    parse_routes,
    parse_status,
    raise_for_error,
)

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class BirdUnavailable(ConnectionError):
    """The control socket is missing, refused the connection or stopped answering."""


def _name(value: str) -> str:
    # Names go into a command line; refuse anything that could change its meaning.
    if not _NAME.fullmatch(value):
        raise ValueError(f"{value!r} is not a BIRD protocol or table name")
    return value


def _quoted(path: str | Path | None) -> str:
    if path is None:
        return ""
    text = str(path)
    if '"' in text or "\n" in text:
        raise ValueError(f"{text!r} cannot be passed to BIRD")
    return f' "{text}"'


class BirdControl:
    """One connection to a BIRD control socket. Use as a context manager."""

    def __init__(self, socket_path: str | Path, timeout: float = 30) -> None:
        self.socket_path = str(socket_path)
        self.timeout = timeout
        self._child: SocketSpawn | None = None
        self.greeting: str = ""

    def connect(self) -> BirdControl:
        """Open the socket and read BIRD's greeting (``0001 BIRD x.y.z ready.``)."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.socket_path)
        except OSError as exc:
            sock.close()
            raise BirdUnavailable(f"cannot connect to BIRD at {self.socket_path}: "
                                  f"{exc.strerror or exc}") from None
        # Bytes mode: pexpect 4.9's SocketSpawn does not decode what it reads.
        self._child = SocketSpawn(sock, timeout=self.timeout, maxread=65536)
        self.greeting = self._read("").text
        return self

    def close(self) -> None:
        """Close the connection (BIRD keeps running)."""
        if self._child is not None:
            self._child.close()
            self._child = None

    def __enter__(self) -> BirdControl:
        return self.connect() if self._child is None else self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _read(self, command: str) -> Reply:
        assert self._child is not None
        try:
            self._child.expect(REPLY_END)
        except pexpect.TIMEOUT:
            raise BirdUnavailable(f"BIRD did not answer {command or 'the connection'!r} "
                                  f"within {self.timeout:g} s") from None
        except (pexpect.EOF, OSError):
            raise BirdUnavailable(f"BIRD closed the control connection ({command!r})") from None
        raw = bytes(self._child.before) + bytes(self._child.after)
        return parse_reply(raw.decode("utf-8", errors="replace"))

    def command(self, command: str) -> Reply:
        """Send one command line and return its reply; BIRD's errors raise ``BirdError``."""
        if "\n" in command:
            raise ValueError("one command line at a time")
        if self._child is None:
            self.connect()
        assert self._child is not None
        try:
            self._child.send((command + "\n").encode("utf-8"))
        except OSError as exc:
            raise BirdUnavailable(f"cannot send to BIRD: {exc}") from None
        return raise_for_error(self._read(command), command)

    # ---- queries ------------------------------------------------------------------------

    def status(self) -> Status:
        """``show status``."""
        return parse_status(self.command("show status"))

    def protocols(self, name: str | None = None) -> list[Protocol]:
        """``show protocols all``: state, since, info and route counts per channel."""
        suffix = f" {_name(name)}" if name else ""
        return parse_protocols(self.command("show protocols all" + suffix))

    def protocol(self, name: str) -> Protocol:
        """One protocol; ``BirdError`` if there is none of that name."""
        found = [p for p in self.protocols(name) if p.name == name]
        if not found:
            raise BirdError(8003, f"no protocol named {name}", f"show protocols all {name}")
        return found[0]

    def routes(self, *, table: str | None = None, protocol: str | None = None,
               filtered: bool = False, prefix: str | None = None,
               noexport: str | None = None) -> list[Route]:
        """``show route [for P] [table T] [noexport X] [protocol P] [filtered] all``
        (``noexport X``: the routes protocol X's export filter refuses)."""
        cmd = "show route"
        if prefix:
            if not re.fullmatch(r"[0-9A-Fa-f:.]+(/\d+)?", prefix):
                raise ValueError(f"{prefix!r} is not a prefix")
            cmd += f" for {prefix}"
        if table:
            cmd += f" table {_name(table)}"
        if noexport:
            cmd += f" noexport {_name(noexport)}"
        if protocol:
            cmd += f" protocol {_name(protocol)}"
        if filtered:
            cmd += " filtered"
        return parse_routes(self.command(cmd + " all"))

    def session_routes(self, session: str, *, table: str | None = None) -> list[Route]:
        """Routes a member session sent: accepted, then filtered (with reject reasons)."""
        table = table or f"t_{session}"
        return (self.routes(table=table, protocol=session)
                + self.routes(table=table, protocol=session, filtered=True))

    # ---- configuration ------------------------------------------------------------------

    def configure_check(self, path: str | Path | None = None) -> Reply:
        """``configure check``: parse a file without applying it (``BirdError`` if bad)."""
        return self.command("configure check" + _quoted(path))

    def configure(self, path: str | Path | None = None) -> Reply:
        """``configure``: apply the file now."""
        return self.command("configure" + _quoted(path))

    def configure_timeout(self, seconds: int, path: str | Path | None = None) -> Reply:
        """``configure timeout N``: apply, and undo by itself unless confirmed in N s."""
        if not 1 <= seconds <= 3600:
            raise ValueError("the confirm timeout must be 1 to 3600 seconds")
        # BIRD's grammar: configure ["file"] timeout N (the file comes first).
        return self.command("configure" + _quoted(path) + f" timeout {seconds}")

    def configure_confirm(self) -> Reply:
        """``configure confirm``: keep the configuration applied with a timeout."""
        return self.command("configure confirm")

    def configure_undo(self) -> Reply:
        """``configure undo``: go back to the configuration before the last one."""
        return self.command("configure undo")

    # ---- sessions -----------------------------------------------------------------------

    def enable(self, name: str) -> Reply:
        """``enable NAME``."""
        return self.command(f"enable {_name(name)}")

    def disable(self, name: str) -> Reply:
        """``disable NAME``."""
        return self.command(f"disable {_name(name)}")

    def restart(self, name: str) -> Reply:
        """``restart NAME``."""
        return self.command(f"restart {_name(name)}")
