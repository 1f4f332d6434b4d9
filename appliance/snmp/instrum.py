"""The bridge between pysnmp's command responders and our ``ObjectTree``.

pysnmp's own MIB instrumentation walks a tree of Python MIB objects per variable; for tables
that change every few seconds a sorted snapshot with bisect is simpler and much faster. pysnmp
only needs ``read_variables`` and ``read_next_variables`` from the object it is given.
"""

from __future__ import annotations

import logging
from typing import Any

from pysnmp.proto import rfc1902, rfc1905
from pysnmp.smi import error as smi_error

from appliance.snmp.oidstore import ObjectTree

log = logging.getLogger(__name__)

# Any OID inside the one read view: the access check asks "may this principal read at all".
_PROBE_OID = rfc1902.ObjectName((1, 3, 6, 1, 2, 1, 1, 1, 0))


class TreeInstrumentation:
    """Read-only MIB instrumentation over an ``ObjectTree``."""

    def __init__(self, tree: ObjectTree) -> None:
        self.tree = tree

    def _allowed(self, context: dict[str, Any]) -> None:
        # VACM gives every configured principal the same read view (the whole tree), so one
        # check per call decides for every variable in it; refusals raise AuthorizationError.
        ac_fun = context.get("acFun")
        if ac_fun is None:
            return
        try:
            ac_fun("read", (_PROBE_OID, None), **{**context, "idx": 0})
        except smi_error.AuthorizationError:
            log.warning("refused a request: the security model or level is not allowed "
                        "(only SNMPv2c communities and SNMPv3 authPriv users are)")
            raise

    def read_variables(self, *var_binds: tuple[Any, Any], **context: Any) -> list[tuple]:
        """GET: the value of each exact OID, or noSuchObject / noSuchInstance."""
        self._allowed(context)
        out = []
        for name, _ in var_binds:
            status, value = self.tree.get(tuple(name))
            if status == "ok":
                out.append((name, value))
            elif status == "noSuchObject":
                out.append((name, rfc1905.noSuchObject))
            else:
                out.append((name, rfc1905.noSuchInstance))
        return out

    def read_next_variables(self, *var_binds: tuple[Any, Any], **context: Any) -> list[tuple]:
        """GETNEXT / GETBULK step: the next object after each OID, or endOfMibView."""
        self._allowed(context)
        out = []
        for name, _ in var_binds:
            row = self.tree.next(tuple(name))
            if row is None:
                out.append((name, rfc1905.endOfMibView))
            else:
                out.append((rfc1902.ObjectName(row[0]), row[1]))
        return out

    def write_variables(self, *var_binds: tuple[Any, Any], **context: Any) -> list[tuple]:
        """SET: never; the agent is read-only."""
        raise smi_error.NotWritableError(idx=0)
