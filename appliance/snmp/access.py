"""Who may ask: the v2c community + source-network rule, and log lines for every refusal.

SNMPv2c has no real authentication, so a community is only accepted from the networks the
operator listed for it. A refused v2c request is dropped without an answer (like a wrong
community); refused SNMPv3 requests get the USM report RFC 3414 prescribes and no data (with
no SNMPv3 user configured there is no pysnmp engine to report from: they get no answer).
``v2c_allowed`` is called by the v2c fast path; ``on_usm_failure`` observes pysnmp.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Sequence
from typing import Any

from appliance.snmp import ber
from appliance.snmp.settings import Community, User, address_in

log = logging.getLogger("appliance.snmp.access")

_QUIET_SECONDS = 60.0  # one line per source and reason a minute: a scan must not flood the log


def _v3_reasons() -> tuple[tuple[type, str], ...]:
    """USM's refusals, in words (pysnmp's: only an agent with SNMPv3 users loads it)."""
    from pysnmp.proto import errind

    return (
        (errind.WrongDigest, "wrong authentication password or protocol"),
        (errind.AuthenticationFailure, "wrong authentication password or protocol"),
        (errind.UnknownUserName, "unknown user"),
        (errind.UnsupportedSecurityLevel, "security level not allowed (only authPriv is)"),
        (errind.DecryptionError, "wrong privacy password or protocol"),
    )


def source_ip(transport_address: Any) -> str:
    """The requester's IP address from a pysnmp transport address (a (host, port) tuple)."""
    try:
        return str(transport_address[0])
    except (TypeError, IndexError):
        return str(transport_address)


class AccessPolicy:
    """The v2c rules, and the log of what was refused."""

    def __init__(self, communities: Sequence[Community], users: Sequence[User] = ()) -> None:
        self._last_logged: dict[tuple[str, str], float] = {}
        self.refusals = 0
        self.update(communities, users)

    def update(self, communities: Sequence[Community], users: Sequence[User] = ()) -> None:
        """Take the communities and SNMPv3 users of a new configuration."""
        self.user_networks = {u.name.encode(): u.allowed_networks for u in users}
        self.networks: dict[bytes, list[ipaddress.IPv4Network | ipaddress.IPv6Network]] = {}
        self.position: dict[bytes, int] = {}
        for i, c in enumerate(communities, start=1):
            key = c.community.encode()
            self.networks.setdefault(key, []).extend(c.allowed_networks)
            self.position.setdefault(key, i)

    def refuse(self, source: str, reason: str) -> None:
        """Count and log a refusal (rate-limited per source and reason)."""
        self.refusals += 1
        now = time.monotonic()
        key = (source, reason)
        if now - self._last_logged.get(key, -1e18) >= _QUIET_SECONDS:
            self._last_logged[key] = now
            log.warning("refused SNMP request from %s: %s", source, reason)

    def v2c_allowed(self, community: bytes, source: str) -> bool:
        """Whether ``community`` may be used from ``source``; logs the refusal if not."""
        nets = self.networks.get(community)
        if nets is None:
            # The text is not logged: a mistyped community is often one letter off a real one.
            self.refuse(source, "unknown community")
            return False
        if not address_in(source, tuple(nets)):
            self.refuse(source, f"community #{self.position[community]} is not allowed from "
                        f"this address (allowed: {', '.join(str(n) for n in nets)})")
            return False
        return True

    def v3_allowed(self, datagram: bytes, source: str) -> bool:
        """Whether an SNMPv3 message may reach pysnmp from ``source`` (its user's networks).

        Engine discovery (no user name yet) is let through when some user may poll from
        ``source``, so a refused source learns nothing, not even the engine ID.
        """
        user = v3_user_name(datagram)
        if user is None:
            return False  # not a well-formed v3 message: pysnmp would drop it anyway
        if user == b"":
            if any(not nets or address_in(source, nets) for nets in self.user_networks.values()):
                return True
            self.refuse(source, "SNMPv3 discovery from an address no user may poll from")
            return False
        nets = self.user_networks.get(user)
        if nets and not address_in(source, nets):
            name = user.decode("utf-8", "replace")
            self.refuse(source, f"SNMPv3 user {name!r} is not allowed from this address "
                        f"(allowed: {', '.join(str(n) for n in nets)})")
            return False
        return True  # unknown users are refused by USM itself, with their own log line

    # -- pysnmp observers ----------------------------------------------------------------

    def on_usm_failure(self, _engine: Any, _point: str, variables: dict[str, Any],
                       _ctx: Any) -> None:
        """An SNMPv3 message USM refused: say who and why (discovery steps are not refusals)."""
        status = variables.get("statusInformation") or {}
        indication = status.get("errorIndication") if hasattr(status, "get") else None
        for kind, reason in _v3_reasons():
            if isinstance(indication, kind):
                user = _usm_user(variables.get("securityParameters"))
                self.refuse(source_ip(variables.get("transportAddress")),
                            f"SNMPv3 user {user!r}: {reason}")
                return

    def install(self, engine: Any) -> None:
        """Attach the observers to a pysnmp engine."""
        engine.observer.register_observer(self.on_usm_failure,
                                          "rfc3412.prepareDataElements:sm-failure")


def _usm_user(raw: Any) -> str:
    from pyasn1.codec.ber import decoder
    from pysnmp.proto.secmod.rfc3414.service import UsmSecurityParameters

    try:
        params, _ = decoder.decode(bytes(raw), asn1Spec=UsmSecurityParameters())
        return bytes(params["msgUserName"]).decode("utf-8", "replace")
    except Exception:  # logging must never fail a request path
        return "?"


def v3_user_name(datagram: bytes) -> bytes | None:
    """The USM user name of an SNMPv3 message (b"" for discovery), or None if malformed.

    SNMPv3Message ::= SEQUENCE { msgVersion, msgGlobalData SEQUENCE, msgSecurityParameters
    OCTET STRING (a BER UsmSecurityParameters SEQUENCE), msgData }; the user name is the
    fourth field of the security parameters.
    """
    try:
        tag, msg, _ = ber.read(datagram, 0)
        if tag != ber.SEQUENCE:
            return None
        _version, pos = ber.read_int(msg, 0)
        _tag, _global, pos = ber.read(msg, pos)
        tag, sec, _ = ber.read(msg, pos)
        if tag != ber.OCTET_STRING:
            return None
        tag, usm, _ = ber.read(sec, 0)
        if tag != ber.SEQUENCE:
            return None
        pos = 0
        for _ in range(3):  # engine ID, engine boots, engine time
            _tag, _value, pos = ber.read(usm, pos)
        tag, name, _ = ber.read(usm, pos)
        return name if tag == ber.OCTET_STRING else None
    except (ber.BerError, ValueError, IndexError):
        return None
