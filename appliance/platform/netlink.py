"""Writing netlink: a pyroute2 rtnetlink socket in the target's namespace.

Reading link state and counters in the resident daemons goes through the lean reader
(``platform.rtnl``); the bridge, the anycast links and the lab write through this one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pyroute2 import IPRoute

from appliance.platform import netns as labns

IFA_F_NODAD = 0x02


@contextmanager
def open_netlink(netns: str | None) -> Iterator[Any]:
    """An rtnetlink socket in ``netns`` (None: this process's namespace)."""
    # pyroute2 would silently create a missing namespace; a typo must be an error instead.
    if netns and not labns.exists(netns):
        raise ValueError(f"network namespace {netns} does not exist; start the lab first "
                         "('ixpctl lab up') or check the --netns name")
    ipr = IPRoute(netns=netns) if netns else IPRoute()
    try:
        yield ipr
    finally:
        ipr.close()


def where(netns: str | None) -> str:
    """How to name the namespace in messages."""
    return f"namespace {netns}" if netns else "this host"
