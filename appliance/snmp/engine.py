"""A pysnmp engine for the agent: transports, principals, access control and responders.

Built only when SNMPv3 users are configured (else ``transport.V2cListener`` serves v2c alone).

Only GET, GETNEXT and GETBULK are answered with data. SET is answered with notWritable.
Principals: each v2c community (source-checked by ``AccessPolicy``, answered by the v2c fast
path) and each SNMPv3 user at authPriv (pysnmp: USM + VACM); every one of them reads the whole
tree and writes nothing.
"""

from __future__ import annotations

import logging
import socket
from typing import Any

from pysnmp.carrier.asyncio.dgram import udp, udp6
from pysnmp.entity import config, engine
from pysnmp.entity.rfc3413 import cmdrsp, context
from pysnmp.smi import error as smi_error

from appliance.snmp.access import AccessPolicy, source_ip
from appliance.snmp.settings import Settings
from appliance.snmp.transport import MAX_MESSAGE_SIZE, EngineIdentity
from appliance.snmp.v2c import V2cResponder, peek_version

log = logging.getLogger(__name__)

READ_VIEW = (1, 3, 6, 1)
AUTH = {
    "SHA-256": config.USM_AUTH_HMAC192_SHA256,
    "SHA-384": config.USM_AUTH_HMAC256_SHA384,
    "SHA-512": config.USM_AUTH_HMAC384_SHA512,
}
PRIV = {"AES-128": config.USM_PRIV_CFB128_AES}


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
    snmp = engine.SnmpEngine(maxMessageSize=MAX_MESSAGE_SIZE)
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


def engine_values(snmp: engine.SnmpEngine) -> tuple[bytes, int, int, int]:
    """snmpEngineID, snmpEngineBoots, snmpEngineTime, snmpEngineMaxMessageSize, as USM has them."""
    eid, boots, etime, maxsize = snmp.get_mib_builder().import_symbols(
        "__SNMP-FRAMEWORK-MIB", "snmpEngineID", "snmpEngineBoots", "snmpEngineTime",
        "snmpEngineMaxMessageSize")
    return (eid.syntax.asOctets(), int(boots.syntax), int(etime.syntax.clone()),
            int(maxsize.syntax))


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
