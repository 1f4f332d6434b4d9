"""Fixtures shared by every test area."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.platform import shipped
from labkit.netlab import NetLab, session
from labkit.webform import form_fields  # noqa: F401 (many tests import it from here)

ROOT = Path(__file__).resolve().parent.parent
# The tree of the image's daemons (image/shipped-root.sh), kept between runs.
SHIPPED_CACHE = Path(os.environ.get("IXP_SHIPPED_CACHE", "/var/cache/ixp-shipped-root"))


def pytest_configure(config: pytest.Config) -> None:
    """Every daemon the tests start as the route server, resolver or firewall is the image's
    own (BIRD, unbound, stayrtr, nft of its Debian release), from the shipped tree, made once.

    ``IXP_SHIPPED_ROOT`` already set is kept (empty: the host's daemons, on purpose).
    """
    if shipped.ENV in os.environ or os.geteuid() != 0:
        return
    done = subprocess.run([str(ROOT / "image" / "shipped-root.sh"), str(SHIPPED_CACHE)],
                          capture_output=True, text=True, check=False, timeout=1800)
    if done.returncode != 0:
        raise pytest.UsageError("could not make the tree of the shipped daemons "
                                f"(image/shipped-root.sh): {done.stderr[-3000:]}")
    os.environ[shipped.ENV] = done.stdout.strip().splitlines()[-1]


def pytest_report_header(config: pytest.Config) -> str:
    """Which daemons this run tests: the image's (and their versions) or the host's."""
    found = shipped.versions()
    if not found:
        return "daemons: the host's own (IXP_SHIPPED_ROOT not set)"
    listed = ", ".join(f"{name} {version}" for name, version in sorted(found.items()))
    return f"daemons: the image's, from {os.environ[shipped.ENV]}: {listed}"


EXAMPLE = ROOT / "examples" / "small-island.yaml"


@pytest.fixture
def example_text() -> str:
    """The shipped example configuration."""
    return EXAMPLE.read_text()


@pytest.fixture
def root_required() -> None:
    """Tests that create namespaces fail loudly, with the reason, when not run as root."""
    if os.geteuid() != 0:
        pytest.fail("this test creates network namespaces and must run as root "
                    "(the README's test command does)")


@pytest.fixture
def tool():
    """Look up a required external program; fail with the package to install if missing."""
    def find(name: str, package: str) -> str:
        path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
        if path is None:
            pytest.fail(f"{name} is missing: the README's test command installs the Debian "
                        f"package {package}")
        return path
    return find


@pytest.fixture
def netlab(root_required, tmp_path_factory) -> Iterator[NetLab]:
    """The test's lab of namespaces (labkit.netlab) with a unique prefix: everything it made
    (namespaces, hosts, daemons) is removed after the test, pass or fail."""
    with session(tmp_path_factory.mktemp("netlab"), "ixt") as lab:
        yield lab


@pytest.fixture
def ns_factory(netlab):
    """Bare namespaces of the test's lab (``netlab.namespace``), removed after the test."""
    def make(suffix: str) -> str:
        return netlab.namespace(suffix)

    make.prefix = netlab.prefix  # type: ignore[attr-defined]
    return make
