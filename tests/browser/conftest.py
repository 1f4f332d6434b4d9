"""Headless Chromium (Debian's package) driven by Playwright; never `playwright install`."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from appliance.box import build_pipeline
from appliance.config.loader import load_config_text
from appliance.lab.lab import LabState, lab_down
from appliance.platform.target import Target
from appliance.runner import Runner
from labkit import netlab
from labkit.image.journey import CHROMIUM_ARGS

from ..conftest import ROOT

ARTIFACTS = Path(os.environ.get("IXP_ARTIFACTS", ROOT / "artifacts"))
# axe-core, the accessibility checker; dev.sh's setup installs it from npm (install_axe_core).
AXE_JS = Path(os.environ.get("IXP_AXE_JS",
                             ROOT / ".venv" / "npm" / "node_modules" / "axe-core" / "axe.min.js"))
SERIOUS = ("serious", "critical")


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail("Chromium is missing: the README's test command installs Debian's "
                    "'chromium' package")
    return path


@pytest.fixture
def browser_page(chromium_path, tmp_path):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS,
                                     headless=True)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(20_000)
        yield page
        context.close()
        browser.close()


@pytest.fixture
def shots(request):
    """Save numbered screenshots as test artefacts: artifacts/screenshots/<test>/NN-name.png."""
    folder = ARTIFACTS / "screenshots" / request.node.name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    count = {"n": 0}

    def shot(page, name: str) -> Path:
        count["n"] += 1
        path = folder / f"{count['n']:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path
    return shot


@pytest.fixture(scope="session")
def axe_source() -> str:
    """The text of axe.min.js (a test that checks accessibility fails without it)."""
    if not AXE_JS.exists():
        pytest.fail(f"axe-core is missing ({AXE_JS}): run 'sudo ./dev.sh setup', which installs "
                    "it from npm")
    return AXE_JS.read_text()


def axe_violations(page, axe_source: str, impacts: tuple[str, ...] = SERIOUS) -> list[dict]:
    """Run axe-core on the page as it is now; its violations of the given impacts, each with
    the rule id, impact, help text and the first few offending elements.

    The script is evaluated through the DevTools protocol, so the page's own
    Content-Security-Policy stays in force (and is tested with it)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source)
    found = page.evaluate("""async () => {
        const r = await window.axe.run(document, {resultTypes: ['violations']});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}));
    }""")
    return [v for v in found if v["impact"] in impacts]


@contextlib.contextmanager
def served_lab(state_dir: Path, lab_text: str, applied: dict,
               sample_interval: float = 5.0) -> Iterator[tuple[LabState, str]]:
    """A lab built from ``lab_text``, the box configured with ``applied`` and its services
    running (web on a free loopback port); yields (lab state, web URL); always torn down."""
    with netlab.session(state_dir / "netlab", "ixt") as net:
        state = net.config_lab(load_config_text(lab_text), state_dir, prefixes_per_member=2)
        box = Target(state_dir, state.appliance_netns)
        out = build_pipeline(box).run(yaml.safe_dump(applied), author="noc")
        assert out.ok, out.error
        runner = Runner(box, port=0, sample_interval=sample_interval)
        net.on_close(runner.stop)  # first, before the lab comes down
        runner.start()
        yield state, runner.web.url


def log_in(page, url: str, name: str, password: str) -> None:
    """Log in through the login form."""
    page.goto(url)
    page.fill("#name", name)
    page.fill("#password", password)
    page.click("button[type=submit]")


@pytest.fixture
def demo(root_required, tmp_path):
    """`ixpctl demo` on a lab; yields (url, setup code, state dir); always torn down."""
    with running_demo(tmp_path) as started:
        yield started


@contextlib.contextmanager
def running_demo(state_dir: Path, *extra: str) -> Iterator[tuple[str, str, Path]]:
    """`ixpctl demo` (with ``extra`` options) on a lab; yields (url, setup code, state dir);
    always torn down."""
    tmp_path = state_dir
    proc = subprocess.Popen(
        [sys.executable, "-m", "appliance.cli", "demo", "--state-dir", str(tmp_path),
         "--listen", "127.0.0.1:0", "--prefixes", "2", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = code = None
    seen = ""
    deadline = time.monotonic() + 90
    try:
        while time.monotonic() < deadline and (url is None or code is None):
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
            seen += line
            if "Open http://" in line:
                url = line.split("Open ")[1].split()[0]
            if "setup code for the wizard:" in line:
                code = line.split(":")[-1].strip()
        assert url and code, f"the demo did not start:\n{seen}"
        yield url, code, tmp_path
    finally:
        if proc.poll() is None:
            proc.send_signal(2)  # SIGINT, as Ctrl-C
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        lab_down(tmp_path)


def wait_for_sessions(page, url: str, want: int, timeout: float = 90) -> None:
    """Reload ``url`` (the looking glass) until ``want`` rows say Established (BIRD's own
    word, the same in every language of the UI)."""
    deadline = time.monotonic() + timeout
    page.goto(url)
    while page.locator("tbody tr", has_text="Established").count() < want \
            and time.monotonic() < deadline:
        time.sleep(1)
        page.reload()
    assert page.locator("tbody tr", has_text="Established").count() >= want
