"""A pysnmp engine for the agent: transports, principals, access control and responders.

Only GET, GETNEXT and GETBULK are answered with data. SET is answered with notWritable.
Principals: each v2c community (source-checked by ``AccessPolicy``, answered by the v2c fast
path) and each SNMPv3 user at authPriv (pysnmp: USM + VACM); every one of them reads the whole
tree and writes nothing.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pysnmp.carrier.asyncio.dgram import udp, udp6
from pysnmp.entity import config, engine
from pysnmp.entity.rfc3413 import cmdrsp, context
from pysnmp.smi import error as smi_error

from appliance.snmp.access import AccessPolicy, source_ip
from appliance.snmp.settings import Settings
from appliance.snmp.v2c import V2cResponder, peek_version
from appliance.util.atomic import atomic_write

log = logging.getLogger(__name__)

READ_VIEW = (1, 3, 6, 1)
AUTH = {
    "SHA-256": config.USM_AUTH_HMAC192_SHA256,
    "SHA-384": config.USM_AUTH_HMAC256_SHA384,
    "SHA-512": config.USM_AUTH_HMAC384_SHA512,
}
PRIV = {"AES-128": config.USM_PRIV_CFB128_AES}
# RFC 3411 engine ID: pysnmp's enterprise number (20408) with the high bit, format 5 (octets).
_ENGINE_ID_PREFIX = bytes.fromhex("80004fb805")


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


class ReadOnlySetResponder(cmdrsp.CommandResponderBase):
    """Answers every SET with notWritable, and logs who tried."""

    SUPPORTED_PDU_TYPES = cmdrsp.SetCommandResponder.SUPPORTED_PDU_TYPES

    def handle_management_operation(self, snmpEngine: Any, stateReference: Any,
                                    contextName: Any, PDU: Any) -> None:
        """Refuse the SET."""
        ctx = snmpEngine.observer.get_execution_context("rfc3412.receiveMessage:request")
        log.warning("refused SNMP SET from %s: the agent is read-only",
                    source_ip(ctx.get("transportAddress")))
        raise smi_error.NotWritableError(idx=0)


def _fast_transport(base: type, fast: V2cResponder) -> Any:
    """A pysnmp UDP transport that answers v1/v2c itself and gives SNMPv3 to pysnmp."""

    class FastPathTransport(base):  # type: ignore[misc, valid-type]
        def datagram_received(self, datagram: bytes, transportAddress: Any) -> None:
            if peek_version(datagram) == 3:
                if fast.policy.v3_allowed(datagram, source_ip(transportAddress)):
                    super().datagram_received(datagram, transportAddress)
                return
            reply = fast.handle(datagram, source_ip(transportAddress))
            if reply is not None and self.transport is not None:
                self.transport.sendto(reply, transportAddress)

    return FastPathTransport


def build_engine(settings: Settings, instrum: Any, sockets: list[socket.socket],
                 identity: EngineIdentity, policy: AccessPolicy) -> engine.SnmpEngine:
    """An engine serving ``instrum`` on ``sockets`` for the principals in ``settings``.

    SNMPv3 goes through pysnmp; v1/v2c datagrams are answered by ``V2cResponder``.
    """
    fast = V2cResponder(instrum, policy)
    snmp = engine.SnmpEngine()
    builder = snmp.get_mib_builder()
    (eid,) = builder.import_symbols("__SNMP-FRAMEWORK-MIB", "snmpEngineID")
    eid.syntax = eid.syntax.clone(identity.engine_id)
    snmp.snmpEngineID = eid.syntax
    (boots,) = builder.import_symbols("__SNMP-FRAMEWORK-MIB", "snmpEngineBoots")
    boots.syntax = boots.syntax.clone(identity.boots)

    for i, sock in enumerate(sockets):
        family = udp6 if sock.family == socket.AF_INET6 else udp
        transport = _fast_transport(family.UdpTransport, fast)().open_server_mode(sock=sock)
        config.add_transport(snmp, (*family.DOMAIN_NAME, i + 1), transport)

    add_principals(snmp, settings)

    ctx = context.SnmpContext(snmp)
    ctx.unregister_context_name(b"")
    ctx.register_context_name(b"", instrum)
    cmdrsp.GetCommandResponder(snmp, ctx)
    cmdrsp.NextCommandResponder(snmp, ctx)
    cmdrsp.BulkCommandResponder(snmp, ctx)
    ReadOnlySetResponder(snmp, ctx)
    policy.install(snmp)
    return snmp


def close_engine(snmp: engine.SnmpEngine) -> None:
    """Stop listening and release the engine's transports."""
    snmp.close_dispatcher()


def add_principals(snmp: engine.SnmpEngine, settings: Settings) -> None:
    """Register every SNMPv3 user of ``settings`` with read access to the whole tree.

    Communities are not given to pysnmp: v2c is answered by the fast path.
    """
    for u in settings.users:
        config.add_v3_user(snmp, u.name, AUTH[u.auth_protocol], u.auth_password,
                           PRIV[u.priv_protocol], u.priv_password)
        config.add_vacm_user(snmp, 3, u.name, "authPriv", readSubTree=READ_VIEW)


def remove_principals(snmp: engine.SnmpEngine, settings: Settings) -> None:
    """Undo ``add_principals`` for the same ``settings`` (before adding the new ones)."""
    for u in settings.users:
        config.delete_vacm_user(snmp, 3, u.name, "authPriv", readSubTree=READ_VIEW)
        config.delete_v3_user(snmp, u.name)
