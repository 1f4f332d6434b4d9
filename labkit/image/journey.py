"""The member's side of a flashed box and the operator's browser: a test namespace with the
tap qemu uses as the box's peering-LAN NIC and a BIRD on it, headless Debian Chromium, and
screenshots. Shared by the image tests and bench/firmware_update.py; moved here unchanged from
tests/image/test_flashed_box_journey.py (the member's BIRD configuration is the caller's).
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from appliance.platform import netns
from labkit.netlab import Node, add_addresses, open_lab

MEMBER_MAC = "02:00:5e:10:00:01"
MEMBER4, MEMBER6 = "203.0.113.10", "2001:db8:eeee::10"
# Debian's Chromium, headless, with nothing reaching out on its own (the web UI tests' too).
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def wait_for(check: Callable[[], object], timeout: float, what: str,
             every: float = 3.0) -> object:
    """Poll ``check`` until it returns something true; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except Exception as exc:  # a page still loading, a box rebooting
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(every)
    raise AssertionError(f"{what}: not within {timeout:g} s (last: {last!r})")


class Member:
    """The member's side of the cable: a namespace of the lab kit's (``NetLab``, with its
    unique prefix) holding the tap and a BIRD on it; the lab ends the BIRD by its PID and
    removes the namespace."""

    def __init__(self, workdir: Path) -> None:
        self.lab = open_lab(workdir, "ixj")
        self.prefix = self.lab.prefix
        self.ns = f"{self.prefix}-m1"
        self.node = Node(self.ns, workdir / "member")

    @property
    def bird_pid(self) -> int | None:
        """The member BIRD's PID, once started."""
        return self.node.pid

    def run(self, *argv: str, timeout: float = 60,
            check: bool = True) -> subprocess.CompletedProcess[str]:
        """A command inside the member's namespace."""
        return netns.run(self.ns, list(argv), timeout=timeout, check=check)

    def create(self) -> None:
        """The namespace, its tap (the member's end of the cable) and the router's addresses."""
        self.lab.namespace("m1")
        self.run("ip", "link", "set", "lo", "up")
        self.run("ip", "tuntap", "add", "dev", "tap0", "mode", "tap")
        self.run("ip", "link", "set", "tap0", "address", MEMBER_MAC, "up")
        add_addresses(self.ns, "tap0", (f"{MEMBER4}/24", f"{MEMBER6}/64"))

    def start_bird(self, conf_text: str) -> None:
        """The member's router: BIRD on ``conf_text`` (the test's sessions to the route
        server), answering on its control socket when this returns."""
        self.node.dir.mkdir(parents=True, exist_ok=True)
        self.lab.start_bird(self.node, conf_text)

    def birdc(self, command: str) -> str:
        """One command to the member's BIRD; its output."""
        return self.run("birdc", "-s", str(self.node.ctl), command, check=False).stdout

    def remove(self) -> None:
        """Stop the member's BIRD (by its PID) and remove everything the member made."""
        self.lab.close()


@contextlib.contextmanager
def member_namespace(workdir: Path) -> Iterator[Member]:
    """The member namespace with its tap, removed afterwards whatever happens."""
    member = Member(workdir)
    try:
        member.create()
        yield member
    finally:
        member.remove()


@contextlib.contextmanager
def chromium() -> Iterator[object]:
    """Headless Debian Chromium; the box's certificate is its own, so it is not verified
    (the banner's fingerprint is what an operator compares)."""
    import shutil

    from playwright.sync_api import sync_playwright
    path = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1280, "height": 900},
                                      ignore_https_errors=True)
        context.set_default_timeout(120_000)  # TCG: a page can take a while
        try:
            yield context
        finally:
            context.close()
            browser.close()


def shot(page: Any, name: str) -> None:
    """A screenshot beside the other artefacts (what the volunteer saw)."""
    folder = Path(__file__).parents[2] / "artifacts" / "screenshots" / "flashed_box_journey"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def save_box_logs(context: Any, base: str, dest: Path, lines: int = 3000) -> str:
    """After a failure: the box's journal as its Logs page gives it to a logged-in admin,
    saved to ``dest``; the lines at warning and above (the last 60), for the test's output.
    Never raises: the failure it follows is what counts."""
    try:
        resp = context.request.get(f"{base}/logs/download?unit=all&lines={lines}",
                                   timeout=120_000)
        if not resp.ok:
            return f"(the Logs page answered HTTP {resp.status}: {resp.text()[:300]})"
        text = resp.text()
        dest.write_text(text)
        urgent = context.request.get(f"{base}/logs/download?unit=all&lines=60&priority=warning",
                                     timeout=120_000)
        return f"(all of it in {dest})\n" + (urgent.text() if urgent.ok else "")
    except Exception as exc:  # the failure it follows is what counts
        return f"(the box's logs could not be fetched: {exc})"
