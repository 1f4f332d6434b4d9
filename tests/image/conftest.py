"""Fixtures of the disk-image tests: the image (built once per tree, cached) and timings."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from labkit.image import vm
from labkit.image.boot import TIMINGS  # filled by the boot helpers and the tests


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker here too, so the suite runs with --strict-markers either way."""
    config.addinivalue_line(
        "markers", "image: builds the disk image and boots it under qemu (needs root; slow)")
    # dev.sh runs these tests alone in the background (-m image) and ends them with SIGTERM
    # when the run is interrupted: end like Ctrl-C, so every fixture's finally kills its qemu
    # and namespace. Only in that run: elsewhere SIGTERM keeps its meaning.
    if config.getoption("markexpr", "") == "image":
        global _MAIN_PID
        _MAIN_PID = os.getpid()
        signal.signal(signal.SIGTERM, _interrupted)


_MAIN_PID = 0


def _interrupted(signum: int, frame: object) -> None:
    if os.getpid() != _MAIN_PID:
        # A forked helper (pyroute2 forks one to open a socket in a namespace, then ends it
        # with SIGTERM): it must die as SIGTERM says, never go on running the tests.
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print what the image tests measured (and keep it beside the cached image)."""
    if not TIMINGS:
        return
    line = json.dumps(TIMINGS, sort_keys=True)
    terminalreporter.write_line(f"image timings: {line}")
    vm.CACHE.mkdir(parents=True, exist_ok=True)
    with open(vm.CACHE / "last-test-timings.json", "w") as f:
        f.write(line + "\n")


@pytest.fixture(scope="session")
def image_build() -> vm.BuiltImage:
    """The image of this work tree: reused from the cache if the tree is unchanged."""
    vm.require_tools()
    return vm.build_or_reuse(Path(__file__).resolve().parents[2])
