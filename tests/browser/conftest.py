"""Headless Chromium (Debian's package) driven by Playwright; never `playwright install`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from appliance.lab.lab import lab_down

from ..conftest import ROOT

ARTIFACTS = Path(os.environ.get("IXP_ARTIFACTS", ROOT / "artifacts"))
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


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


@pytest.fixture
def demo(root_required, tmp_path):
    """`ixpctl demo` on a lab; yields (url, setup code, state dir); always torn down."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "appliance.cli", "demo", "--state-dir", str(tmp_path),
         "--listen", "127.0.0.1:0", "--prefixes", "2"],
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
