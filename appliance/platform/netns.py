"""Network namespaces for the lab and the tests: created with a unique prefix, always removed.

Nothing here touches the root namespace's interfaces: links are created inside a namespace we
made (veth peers are created there and moved to another of ours).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

from appliance.platform import shipped

NETNS_DIR = Path("/var/run/netns")
_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{1,40}$")


def unique_prefix(base: str = "ixl") -> str:
    """A short prefix that no other lab or test run uses, e.g. 'ixl-3fa2c1'."""
    return f"{base}-{secrets.token_hex(3)}"


def require_root() -> None:
    """Namespaces need root (CAP_SYS_ADMIN, CAP_NET_ADMIN); say so plainly if we are not."""
    if os.geteuid() != 0:
        raise PermissionError(
            "the lab creates network namespaces and needs root: run it with sudo"
        )


def _pyroute2_netns():
    # Imported when a namespace is listed, made or removed: building an "ip netns exec"
    # command line (what the resident daemons need) does not load pyroute2.
    from pyroute2 import netns

    return netns


def exists(name: str) -> bool:
    """Whether namespace ``name`` exists."""
    # what pyroute2's listnetns() lists, without its modules (the resident collector asks this
    # before every nft read in a lab)
    return (NETNS_DIR / name).exists()


def create(name: str) -> None:
    """Create namespace ``name`` (must not exist) and bring its loopback up."""
    if not _NAME_RE.match(name):
        raise ValueError(f"namespace name {name!r} is not of the lab's form")
    require_root()
    _pyroute2_netns().create(name)
    try:
        run(name, ["ip", "link", "set", "lo", "up"])
    except BaseException:
        # not yet the caller's to remove (temporary() records it only once made): ours
        remove(name)
        raise


def remove(name: str) -> None:
    """Remove namespace ``name`` if it exists (its links go with it)."""
    if exists(name):
        with contextlib.suppress(OSError):
            _pyroute2_netns().remove(name)


def list_with_prefix(prefix: str) -> list[str]:
    """Namespaces whose name starts with ``prefix``."""
    return sorted(n for n in _pyroute2_netns().listnetns() if n.startswith(prefix))


def command(name: str, argv: Sequence[str]) -> list[str]:
    """``argv`` wrapped to run inside namespace ``name``."""
    # a shipped daemon's program named here is the shipped one (platform/shipped.py)
    return ["ip", "netns", "exec", name, *shipped.wrap_named(argv)]


def run(name: str, argv: Sequence[str], *, check: bool = True, timeout: float = 30,
        input_text: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` inside namespace ``name`` and capture its output."""
    return subprocess.run(command(name, argv), check=check, capture_output=True, text=True,
                          timeout=timeout, input=input_text)


def write_net_sysctl(name: str | None, key: str, value: int) -> None:
    """Set ``/proc/sys/net/<key>`` (e.g. ``ipv4/conf/eth1/arp_ignore``) in namespace ``name``
    (None: this host's, the image's own). ``/proc/sys/net`` is the namespace of the process
    that opens it, so in a namespace a process inside it writes; ``tee``, not ``sysctl``: the
    image has no procps, and the key's interface may have a dot in its name."""
    if ".." in key.split("/") or key.startswith("/"):
        raise ValueError(f"not a key under /proc/sys/net: {key}")
    path = f"/proc/sys/net/{key}"
    if name is None:
        Path(path).write_text(f"{value}\n")
        return
    run(name, ["tee", path], input_text=f"{value}\n")


@contextlib.contextmanager
def temporary(names: Sequence[str]) -> Iterator[list[str]]:
    """Create ``names`` and remove them afterwards, whatever happens in between."""
    made: list[str] = []
    try:
        for n in names:
            create(n)
            made.append(n)
        yield made
    finally:
        for n in reversed(made):
            remove(n)
