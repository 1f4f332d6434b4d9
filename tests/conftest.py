"""Fixtures shared by every test area."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from appliance.platform import netns

ROOT = Path(__file__).resolve().parent.parent


def form_fields(html: bytes | str, action: str) -> dict[str, str]:
    """The hidden inputs of the form posting to ``action`` (CSRF token, candidate, digest):
    what the browser sends when that form's button is clicked."""
    text = html.decode() if isinstance(html, bytes) else html
    m = re.search(r'<form[^>]*action="' + re.escape(action) + r'"[^>]*>(.*?)</form>', text,
                  re.S)
    assert m, f"page has no form posting to {action}"
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', m.group(1)))


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
def ns_factory(root_required):
    """Create namespaces with a unique per-test prefix; all are removed after the test."""
    prefix = netns.unique_prefix("ixt")
    made: list[str] = []

    def make(suffix: str) -> str:
        name = f"{prefix}-{suffix}"
        netns.create(name)
        made.append(name)
        return name

    make.prefix = prefix  # type: ignore[attr-defined]
    yield make
    for name in reversed(made):
        netns.remove(name)
    leftovers = netns.list_with_prefix(prefix)
    for name in leftovers:
        netns.remove(name)
