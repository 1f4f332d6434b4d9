"""Names shared by the BIRD render, the anycast concern and the health checker (pure).

The route server announces a service prefix through a static route *via a gate interface*: an
empty bridge the anycast helper sets up (announce) or down (withdraw). BIRD follows the link
state by itself, so the announcement changes without a reconfigure, survives every
``birdc configure`` and starts withdrawn after a reboot until the first healthy checks.
The service addresses themselves live on their own always-up interface, so a withdrawn prefix
still answers locally and the checker can see it recover.
"""

from __future__ import annotations

import hashlib

# Holds the resolver addresses that are inside an anycast prefix (not on the peering LAN).
SERVICE_IFNAME = "ixp-svc"
GATE_PREFIX = "ixpg"


def protocol_name(prefix: str) -> str:
    """A BIRD protocol name for a service prefix, the same in bird.conf and the status.

    ``192.0.2.0/24`` → ``anycast_192_0_2_0_24``;
    ``2001:db8:53::/48`` → ``anycast_2001_db8_53___48``.
    """
    return "anycast_" + "".join(c if c.isalnum() else "_" for c in prefix)


def gate_ifname(prefix: str) -> str:
    """The gate interface of a service prefix: stable, at most 15 characters, ``ixpg<hex>``.

    Derived from the prefix, not its position, so reordering the list moves nothing.
    """
    return GATE_PREFIX + hashlib.sha256(prefix.encode()).hexdigest()[:10]
