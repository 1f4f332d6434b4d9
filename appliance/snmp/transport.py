"""The agent's UDP sockets, its engine identity, and serving v2c without pysnmp's engine.

With no SNMPv3 user configured (the common case: a community for LibreNMS or Cacti) every
answer comes from the v2c fast path, so the agent does not build pysnmp's engine at all: its
USM, VACM, MIB builder and cryptography (some 10 MiB resident, issue 14's memory bound) stay
unloaded. ``V2cListener`` reads the sockets on the asyncio loop and hands each datagram to
``V2cResponder``, as pysnmp's transport does when there is an engine (``engine.py``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from appliance.snmp.access import source_ip, v3_user_name
from appliance.snmp.v2c import V2cResponder, peek_version
from appliance.util.atomic import atomic_write

log = logging.getLogger(__name__)

# RFC 3411 engine ID: pysnmp's enterprise number (20408) with the high bit, format 5 (octets).
_ENGINE_ID_PREFIX = bytes.fromhex("80004fb805")
# snmpEngineMaxMessageSize: what pysnmp's engine announces (the largest UDP payload).
MAX_MESSAGE_SIZE = 65507
_DATAGRAMS_PER_WAKEUP = 64  # then let the loop run the other sockets and the signal handlers


@dataclass
class EngineIdentity:
    """The persisted snmpEngineID and snmpEngineBoots (RFC 3414 needs both to survive restarts)."""

    engine_id: bytes
    boots: int


def next_identity(path: Path | None) -> EngineIdentity:
    """Load the engine identity, count one more boot, save it back."""
    ident = None
    if path is not None and path.exists():
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            ident = EngineIdentity(bytes.fromhex(raw["engine_id"]), int(raw["boots"]))
        except (ValueError, KeyError, TypeError):
            log.error("%s is damaged; starting with a new SNMP engine ID", path)
    if ident is None:
        ident = EngineIdentity(_ENGINE_ID_PREFIX + os.urandom(8), 0)
    ident.boots = min(ident.boots + 1, 2147483647)
    if path is not None:
        atomic_write(path, json.dumps({"engine_id": ident.engine_id.hex(),
                                       "boots": ident.boots}).encode(), 0o600)
    return ident


def open_socket(host: str, port: int, device: str | None = None) -> socket.socket:
    """A bound, non-blocking UDP socket; ``device`` pins it to one interface (SO_BINDTODEVICE)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        if device:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, device.encode())
        sock.bind((host, port))
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class V2cListener:
    """Answers v2c on ``sockets`` from the asyncio loop; SNMPv3 is refused (no user exists).

    The same access rules as with pysnmp's engine: a v3 discovery is refused (no user may
    poll from anywhere), and a v3 request naming a user is refused as an unknown user; both
    get no answer, since without users there is no engine to report from.
    """

    def __init__(self, sockets: list[socket.socket], fast: V2cResponder,
                 identity: EngineIdentity) -> None:
        """Serve ``sockets`` (bound, non-blocking) once ``open`` is called."""
        self.sockets = sockets
        self.fast = fast
        self.identity = identity
        self.started = time.monotonic()
        self._loop: asyncio.AbstractEventLoop | None = None

    def engine_values(self) -> tuple[bytes, int, int, int]:
        """snmpEngineID, snmpEngineBoots, snmpEngineTime, snmpEngineMaxMessageSize."""
        return (self.identity.engine_id, self.identity.boots,
                int(time.monotonic() - self.started), MAX_MESSAGE_SIZE)

    def open(self) -> None:
        """Start reading the sockets (call from the running loop)."""
        self._loop = asyncio.get_running_loop()
        for sock in self.sockets:
            self._loop.add_reader(sock.fileno(), self._readable, sock)

    def close(self) -> None:
        """Stop reading and close the sockets."""
        for sock in self.sockets:
            if self._loop is not None and sock.fileno() >= 0:
                self._loop.remove_reader(sock.fileno())
            sock.close()
        self.sockets = []

    def _readable(self, sock: socket.socket) -> None:
        for _ in range(_DATAGRAMS_PER_WAKEUP):
            try:
                datagram, address = sock.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # e.g. an ICMP error queued on the socket
                log.debug("recvfrom: %s", exc)
                return
            reply = self.answer(datagram, source_ip(address))
            if reply is not None:
                try:
                    sock.sendto(reply, address)
                except OSError as exc:  # a full send buffer: UDP, the manager asks again
                    log.debug("sendto %s: %s", address, exc)

    def answer(self, datagram: bytes, source: str) -> bytes | None:
        """The reply to one datagram from ``source``, or None."""
        if peek_version(datagram) == 3:
            if self.fast.policy.v3_allowed(datagram, source):
                name = (v3_user_name(datagram) or b"").decode("utf-8", "replace")
                self.fast.policy.refuse(source, f"SNMPv3 user {name!r}: unknown user")
            return None
        return self.fast.handle(datagram, source)
