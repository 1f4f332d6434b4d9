"""Run the daemons the image ships, on a machine that is not the image (the lab, the tests).

A tested route server is only as good as the version tested: the namespace lab must run the
BIRD, unbound, stayrtr and nft of the image's Debian release, not whatever the development
host has. ``image/shipped-root.sh`` bootstraps those packages into a tree of their own; when
``IXP_SHIPPED_ROOT`` names that tree, every daemon command this package starts goes through
``wrap``: a private mount namespace in which the tree's ``/usr`` is bound over the host's, then
the daemon itself. Binaries and libraries are the image's; configs, sockets, pid files and
state stay at the host's paths; the kernel is the host's. Nothing outside that one process
sees the bind (the mount namespace is private and dies with it).

On the image itself, and without the variable, commands run unchanged.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

ENV = "IXP_SHIPPED_ROOT"
# The programs of the shipped packages: named by themselves in a namespace command (a test's
# ``nft list ruleset``), they are the shipped ones too. Mixing nft versions on one ruleset is
# not safe: Debian 12's nft crashes listing rules Debian 13's nft loaded.
PROGRAMS = frozenset({"bird", "birdc", "birdcl", "nft", "unbound", "unbound-control",
                      "unbound-checkconf", "stayrtr"})

# The bind, then the daemon in place of the shell: the PID the caller sees is the daemon's.
_SCRIPT = 'mount --bind "$0/usr" /usr && exec "$@"'


class ShippedRootError(RuntimeError):
    """``IXP_SHIPPED_ROOT`` names something that is not a tree of the shipped daemons."""


def root() -> Path | None:
    """The tree of the shipped daemons, or None when the host's own are used."""
    value = os.environ.get(ENV, "").strip()
    if not value:
        return None
    path = Path(value)
    if not (path / "usr" / "sbin" / "bird").exists():
        raise ShippedRootError(f"{ENV}={value} is not a tree made by image/shipped-root.sh "
                               "(no usr/sbin/bird in it): unset it, or run the script again")
    return path


def program(name: str) -> str | None:
    """Absolute path of program ``name`` as the daemon command should name it (None: missing).

    With a shipped tree: its ``/usr/sbin`` or ``/usr/bin`` program, by the path it has once
    the tree is bound over ``/usr`` (see :func:`wrap`). Without one: the host's.
    """
    tree = root()
    if tree is None:
        return shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    for folder in ("usr/sbin", "usr/bin"):
        if (tree / folder / name).exists():
            return f"/{folder}/{name}"
    return None


def wrap(argv: Sequence[str]) -> list[str]:
    """``argv`` run with the shipped tree's programs and libraries (unchanged without one).

    ``argv[0]`` should be an absolute path under ``/usr`` (``/usr/sbin/bird``): it is looked up
    after the bind, so it names the shipped program. Wrap before ``netns.command``: the
    namespace is entered first, the mounts are made inside it.
    """
    tree = root()
    if tree is None:
        return list(argv)
    return ["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", _SCRIPT,
            str(tree), *argv]


@contextlib.contextmanager
def using(tree: Path | None) -> Iterator[None]:
    """Within the block, daemons started in this process come from ``tree`` (None: the
    host's); e.g. a benchmark that runs one route server on BIRD 3 beside BIRD 2 members."""
    before = os.environ.get(ENV)
    os.environ[ENV] = str(tree) if tree is not None else ""
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = before


def wrap_named(argv: Sequence[str]) -> list[str]:
    """``argv`` through :func:`wrap` when it runs one of :data:`PROGRAMS` by name or by its
    ``/usr`` path and a shipped tree is in use; otherwise unchanged."""
    if not argv or root() is None:
        return list(argv)
    name = os.path.basename(argv[0])
    if name not in PROGRAMS or (os.sep in argv[0] and not argv[0].startswith("/usr/")):
        return list(argv)
    found = program(name)
    return wrap([found, *argv[1:]]) if found else list(argv)


def versions() -> dict[str, str]:
    """Package -> version of the shipped tree in use ({} without one), for the reports."""
    tree = root()
    if tree is None:
        return {}
    listing = tree.parent / "versions.txt"
    if not listing.exists():
        return {}
    return dict(line.split(None, 1) for line in listing.read_text().splitlines()
                if line.strip())
